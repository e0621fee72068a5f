package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Exit codes returned by [Execute].
const (
	ExitOK      = 0 // the command did what it was asked
	ExitFailure = 1 // the server refused, could not be reached, or a local step failed
	ExitUsage   = 2 // the command line (or the input it carried) was wrong
)

// DefaultAddr is the server address used when neither --addr nor CANDOR_ADDR is set.
const DefaultAddr = "127.0.0.1:7420"

// Environment variables read by candor.
const (
	envAddr      = "CANDOR_ADDR"
	envToken     = "CANDOR_TOKEN"
	envConfigDir = "CANDOR_CONFIG_DIR"
)

// Execute runs candor with args (without the program name), writing results to stdout and errors to
// stderr, and returns the process exit code. It is safe to call repeatedly from tests: all state lives
// in the call. The environment (CANDOR_ADDR, CANDOR_TOKEN, CANDOR_CONFIG_DIR) is read from the process.
func Execute(args []string, stdout, stderr io.Writer) int {
	return ExecuteContext(context.Background(), args, stdout, stderr)
}

// ExecuteContext is [Execute] with a context that bounds every RPC the command makes.
func ExecuteContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{
		stdout:        stdout,
		stderr:        stderr,
		stdin:         os.Stdin,
		getenv:        os.Getenv,
		now:           time.Now,
		loc:           time.Local,
		userConfigDir: os.UserConfigDir,
	}
	return a.run(ctx, args)
}

// app is one run of candor: its environment, its parsed global options and its connection.
type app struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
	now            func() time.Time
	loc            *time.Location // times are printed in this zone
	userConfigDir  func() (string, error)
	// terminal, if set, replaces the check of whether a writer is a terminal (tests).
	terminal func(io.Writer) bool

	opts globalOptions
	// addrGiven is set when --addr or CANDOR_ADDR named the server.
	addrGiven bool

	// started is set once flags and arguments were accepted and a command began to run; errors
	// returned before that are usage errors.
	started bool
	// subject names what the running command is about, for error sentences.
	subject subject

	conn    *grpc.ClientConn
	clients *clients
}

// subject is what a command is about, so that error sentences can name it.
type subject struct {
	call        string
	body        string
	participant string
	option      string
	// statement is a minority statement's name.
	statement string
	// action says what the command tried, where one reason means different things to different
	// commands: "vote", "position", "designation" or "minority".
	action string
	// fields maps request field paths (as the server names them in BadRequest violations) to the
	// flag or argument that set them.
	fields map[string]string
}

type clients struct {
	participants candorv1.ParticipantServiceClient
	bodies       candorv1.BodyServiceClient
	calls        candorv1.CallServiceClient
	audit        candorv1.AuditServiceClient
}

// run parses args, runs the command and turns any error into a sentence on stderr and an exit code.
func (a *app) run(ctx context.Context, args []string) int {
	root := newRootCmd(a)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if a.conn != nil {
		a.conn.Close()
	}
	if err == nil {
		return ExitOK
	}
	msg, code := a.describe(err, cmd)
	fmt.Fprintln(a.stderr, msg)
	return code
}

// newRootCmd builds the command tree for one run of a.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "candor",
		Short: "Declare conflicts of interest, then vote or state a position, on a Candor server",
		Long: `candor talks to a Candor server (candord). Every participant restates their Statement of
Interest and declares a conflict of interest before each vote or consensus call; the server keeps
everything in a tamper-evident log and returns a receipt for every write, which candor saves.

Resource names (participants/..., bodies/..., bodies/.../calls/...) are printed whole. A CALL or
PARTICIPANT argument may also be a unique prefix of the id, at least 4 hex digits, as git accepts
short hashes: "candor vote 01a2 yes" looks for the call among the bodies you can see,
"candor vote bodies/BODY/calls/01a2 yes" in that body only.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noArgs,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if isCompletionCmd(cmd) {
				// Writing a completion script, or completing a word, needs no server: a token or
				// address that would be refused must not break the shell's tab key.
				a.started = true
				return nil
			}
			return a.resolveOptions(cmd)
		},
		RunE: groupRunE,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf("%v", err) })
	a.opts.register(root.PersistentFlags())

	root.AddCommand(
		newParticipantCmd(a),
		newTokenCmd(a),
		newAuditorCmd(a),
		newBodyCmd(a),
		newSOICmd(a),
		newCallCmd(a),
		newDeclareCmd(a),
		newVoteCmd(a),
		newPositionCmd(a),
		newMinorityCmd(a),
		newAuditCmd(a),
		newAdminCmd(a),
		newReportCmd(a),
		newExportCmd(a),
		newBenchCmd(a),
	)
	a.resolvePrefixes(root)
	addCompletionCmd(root)
	return root
}

// addCompletionCmd adds cobra's `completion bash|zsh|fish|powershell` command, which prints a script
// that makes the shell complete candor's commands and flags, and asks the hidden `__complete`
// command for the words it cannot know in advance. Cobra would add it by itself on Execute; adding it
// here lets candor treat it like its other groups: an unknown shell is a usage error (exit 2), not
// the help and success.
func addCompletionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Short = "Print a shell completion script: bash, zsh, fish or powershell"
			c.Long = `Print a script that makes the shell complete candor's commands, flags and flag values, e.g.:

  source <(candor completion bash)                       # bash, this session (needs bash-completion)
  candor completion zsh > "${fpath[1]}/_candor"          # zsh, every new session
  candor completion fish > ~/.config/fish/completions/candor.fish

See "candor completion SHELL --help" for each shell's setup.`
			c.Args = cobra.ArbitraryArgs
			c.RunE = groupRunE
		}
	}
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outputTable, outputJSON}, cobra.ShellCompDirectiveNoFileComp))
}

// isCompletionCmd reports whether cmd is `candor completion ...` or one of cobra's hidden commands
// that answer the shell's completion requests.
func isCompletionCmd(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		switch c.Name() {
		case "completion", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
			return c.HasParent() && !c.Parent().HasParent()
		}
	}
	return false
}

// globalOptions are the persistent flags every command shares.
type globalOptions struct {
	addr       string
	token      string
	tokenFile  string
	output     string
	timeout    time.Duration
	configDir  string
	caFile     string
	certFile   string
	keyFile    string
	serverName string
}

const (
	outputTable = "table"
	outputJSON  = "json"
)

func (o *globalOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.addr, "addr", DefaultAddr, "server address (env "+envAddr+")")
	fs.StringVar(&o.token, "token", "", "bearer token (env "+envToken+")")
	fs.StringVar(&o.tokenFile, "token-file", "", "read the bearer token from `FILE`, e.g. the server's admin.token")
	fs.StringVarP(&o.output, "output", "o", outputTable, "output format: table or json")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "time limit for each request to the server")
	fs.StringVar(&o.configDir, "config-dir", "", "folder for saved receipts and verified checkpoints (env "+envConfigDir+"; default the user config folder/candor)")
	fs.StringVar(&o.caFile, "ca", "", "PEM `FILE` of the server's CA; when set, connect with TLS")
	fs.StringVar(&o.certFile, "client-cert", "", "PEM `FILE` of a client certificate (needs --ca and --client-key)")
	fs.StringVar(&o.keyFile, "client-key", "", "PEM `FILE` of the client certificate's key")
	fs.StringVar(&o.serverName, "server-name", "", "name to verify in the server's certificate (default the host in --addr)")
}

// resolveOptions fills options from the environment where no flag was given and checks them.
func (a *app) resolveOptions(cmd *cobra.Command) error {
	a.started = true
	fs := cmd.Flags()
	o := &a.opts
	a.addrGiven = fs.Changed("addr")
	if !fs.Changed("addr") {
		if v := a.getenv(envAddr); v != "" {
			o.addr = v
			a.addrGiven = true
		}
	}
	if !fs.Changed("config-dir") {
		o.configDir = a.getenv(envConfigDir)
	}
	switch {
	case fs.Changed("token") && fs.Changed("token-file"):
		return usageErrorf("give either --token or --token-file, not both")
	case fs.Changed("token-file"):
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return usageErrorf("cannot read --token-file: %v", err)
		}
		o.token = strings.TrimSpace(string(b))
		if o.token == "" {
			return usageErrorf("--token-file %s is empty", o.tokenFile)
		}
	case !fs.Changed("token"):
		o.token = strings.TrimSpace(a.getenv(envToken))
	}
	if strings.ContainsAny(o.token, " \t\r\n") {
		return usageErrorf("the token contains white space; pass the token alone")
	}
	switch o.output {
	case outputTable, outputJSON:
	default:
		return usageErrorf("-o/--output must be table or json, not %q", o.output)
	}
	if o.addr == "" {
		return usageErrorf("--addr must not be empty")
	}
	if o.timeout <= 0 {
		return usageErrorf("--timeout must be positive, not %s", o.timeout)
	}
	if o.caFile == "" && (o.certFile != "" || o.keyFile != "" || o.serverName != "") {
		return usageErrorf("--client-cert, --client-key and --server-name need --ca (without --ca, candor connects in plaintext)")
	}
	if (o.certFile == "") != (o.keyFile == "") {
		return usageErrorf("--client-cert and --client-key go together")
	}
	return nil
}

// client returns the service clients, connecting on first use.
func (a *app) client() (*clients, error) {
	if a.clients != nil {
		return a.clients, nil
	}
	conn, err := a.dial()
	if err != nil {
		return nil, err
	}
	a.conn = conn
	a.clients = &clients{
		participants: candorv1.NewParticipantServiceClient(conn),
		bodies:       candorv1.NewBodyServiceClient(conn),
		calls:        candorv1.NewCallServiceClient(conn),
		audit:        candorv1.NewAuditServiceClient(conn),
	}
	return a.clients, nil
}

// groupRunE runs for a command group given no subcommand: it shows the help, or refuses an unknown
// subcommand (cobra would otherwise print the help and succeed).
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return cmd.Help()
}

// newGroup returns a command that only holds subcommands.
func newGroup(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, RunE: groupRunE, Args: cobra.ArbitraryArgs}
	c.AddCommand(subs...)
	return c
}

// usageError is a mistake on the command line; it exits with [ExitUsage].
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exactArgs accepts exactly the named positional arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return rangeArgs(len(names), names...)
}

// rangeArgs accepts at least min of the named positional arguments and at most all of them.
func rangeArgs(min int, names ...string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) >= min && len(args) <= len(names) {
			return nil
		}
		want := strings.Join(names[:min], " ")
		if min < len(names) {
			want = strings.TrimSpace(want + " [" + strings.Join(names[min:], " ") + "]")
		}
		if want == "" {
			want = "no arguments"
		}
		return usageErrorf("expected %s, got %s", want, countArgs(args))
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 && !cmd.HasParent() {
		return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return rangeArgs(0)(cmd, args)
}

func countArgs(args []string) string {
	switch len(args) {
	case 0:
		return "no arguments"
	case 1:
		return fmt.Sprintf("1 argument (%q)", args[0])
	default:
		return fmt.Sprintf("%d arguments (%s)", len(args), strings.Join(quoteAll(args), " "))
	}
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// errRecordedNoReceipt wraps a failure to save a receipt after the server accepted the write.
type errRecordedNoReceipt struct {
	index int64
	err   error
}

func (e *errRecordedNoReceipt) Error() string {
	return fmt.Sprintf("the server recorded this at log index %d, but the receipt could not be saved: %v", e.index, e.err)
}

func (e *errRecordedNoReceipt) Unwrap() error { return e.err }
