package loadtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/domain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Defaults of [Config].
const (
	DefaultConcurrency = 256
	DefaultDuration    = 10 * time.Second
	DefaultCalls       = 4
	DefaultTimeout     = 10 * time.Second
	// DefaultMaxRequests bounds each phase's RPCs, whatever its duration.
	DefaultMaxRequests = 50_000_000
	// maxWarmup caps the default warm-up.
	maxWarmup = time.Second
	// errorPause is how long a client waits after a failed RPC, so a refusing server is not spun on.
	errorPause = 5 * time.Millisecond
	// setupWorkers bounds the setup's concurrent RPCs.
	setupWorkers = 16
	// setupAttempts bounds the tries of each setup RPC the server sheds as overloaded.
	setupAttempts = 50
)

// Phases selects the phases of a run.
type Phases int

// The phases of a run; the zero Phases means the ceiling and the write phase, and the REST phase
// too when [Config.HTTPAddr] is set.
const (
	// Ceiling is the health-check phase.
	Ceiling Phases = 1 << iota
	// Writes is the declare-then-vote phase.
	Writes
	// REST is the declare-then-vote phase over the REST/JSON gateway; it needs [Config.HTTPAddr].
	REST
)

// Config says which server to load and how.
type Config struct {
	// Addr is the server's address (host:port), or the addresses of several replicas of one
	// server (on an etcd store), comma-separated: connection i then goes to address i mod their
	// number, so the clients' load is spread over the replicas, and the setup runs through the
	// first.
	Addr string
	// DialOptions are used for every connection; without transport credentials among them the
	// connections are plaintext. Tokens are sent per call, so none belongs here.
	DialOptions []grpc.DialOption
	// AdminToken is the server's admin token: the setup creates participants and a body with it.
	AdminToken string
	// HTTPAddr is the server's HTTP listener ("host:port", or a URL such as the web= address candord
	// logs), for the REST phase; empty skips it.
	HTTPAddr string
	// HTTPTLS, when set, is the TLS configuration for an HTTPAddr without a scheme (https then).
	HTTPTLS *tls.Config

	// Participants is how many participants vote (N). Default: Concurrency.
	Participants int
	// Concurrency is how many clients run at once in each phase (C). Client i acts as participant
	// i mod N. Default 256.
	Concurrency int
	// Duration is how long each phase is measured. Default 10 s.
	Duration time.Duration
	// Warmup is how long each phase runs before it is measured. Default Duration/10, at most 1 s;
	// negative means none.
	Warmup time.Duration
	// Calls is how many votes are open at once (K); each client moves to the next call after each
	// ballot. Default 4.
	Calls int
	// Conns is how many gRPC connections the clients share, client i using connection i mod Conns.
	// Default 1 (as ghz does), or one per address when Addr names several.
	Conns int
	// Timeout bounds each RPC. Default 10 s.
	Timeout time.Duration
	// MaxRequests bounds each phase's RPCs. Default [DefaultMaxRequests].
	MaxRequests int
	// Phases selects the phases to run (to profile one alone). Default both.
	Phases Phases
	// ServerPID, when positive, is read for the server's peak resident memory.
	ServerPID int
	// Progress, when set, receives a line as each step starts.
	Progress io.Writer
}

func (c *Config) setDefaults() error {
	if c.Addr == "" {
		return errors.New("loadtest: no server address")
	}
	if slices.Contains(c.addrs(), "") {
		return fmt.Errorf("loadtest: an empty address in %q", c.Addr)
	}
	if c.AdminToken == "" {
		return errors.New("loadtest: the setup needs the admin token")
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Participants <= 0 {
		c.Participants = c.Concurrency
	}
	if c.Duration <= 0 {
		c.Duration = DefaultDuration
	}
	switch {
	case c.Warmup == 0:
		c.Warmup = min(c.Duration/10, maxWarmup)
	case c.Warmup < 0:
		c.Warmup = 0
	}
	if c.Calls <= 0 {
		c.Calls = DefaultCalls
	}
	if c.Conns <= 0 {
		c.Conns = len(c.addrs())
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxRequests <= 0 {
		c.MaxRequests = DefaultMaxRequests
	}
	if c.Phases == 0 {
		c.Phases = Ceiling | Writes
		if c.HTTPAddr != "" {
			c.Phases |= REST
		}
	}
	if c.Phases&REST != 0 && c.HTTPAddr == "" {
		return errors.New("loadtest: the REST phase needs the server's HTTP address")
	}
	return nil
}

// addrs returns the addresses in Addr.
func (c *Config) addrs() []string { return strings.Split(c.Addr, ",") }

func (c *Config) progress(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// voter is one participant of the load: their token and the hash of their current SOI.
type voter struct {
	ctx     context.Context // carries the participant's token
	token   string
	soiHash []byte
}

// Run sets up a body on the server in cfg, measures the ceiling and the write path, and reports.
// It returns an error when the server cannot be reached or refuses the setup; failures during the
// phases are figures of the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	addrs := cfg.addrs()
	conns := make([]*grpc.ClientConn, cfg.Conns)
	for i := range conns {
		opts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, cfg.DialOptions...)
		addr := addrs[i%len(addrs)]
		conn, err := grpc.NewClient(addr, opts...)
		if err != nil {
			return nil, fmt.Errorf("loadtest: dial %s: %w", addr, err)
		}
		defer conn.Close()
		conns[i] = conn
	}
	cfg.progress("waiting for %s to be healthy", cfg.Addr)
	if err := waitHealthy(ctx, conns, cfg.Timeout); err != nil {
		return nil, err
	}
	cfg.progress("setting up %d participants and %d calls", cfg.Participants, cfg.Calls)
	voters, calls, err := setup(ctx, conns[0], &cfg)
	if err != nil {
		return nil, err
	}
	r := &Report{
		Participants: cfg.Participants, Concurrency: cfg.Concurrency, Calls: cfg.Calls, Conns: cfg.Conns,
		Warmup: cfg.Warmup, Window: cfg.Duration, ServerPID: cfg.ServerPID,
	}

	if cfg.Phases&Ceiling != 0 {
		cfg.progress("ceiling: %d clients calling the health check for %s", cfg.Concurrency, cfg.Warmup+cfg.Duration)
		health := make([]healthpb.HealthClient, len(conns))
		for i, c := range conns {
			health[i] = healthpb.NewHealthClient(c)
		}
		ceiling := runPhase(ctx, &cfg, []string{"health"}, func(client int, n int, rec recordFunc) {
			v := voters[client%len(voters)]
			start := time.Now()
			rctx, cancel := context.WithTimeout(v.ctx, cfg.Timeout)
			_, err := health[client%len(health)].Check(rctx, &healthpb.HealthCheckRequest{})
			cancel()
			rec(0, err, start, nil)
		})
		r.Ceiling, r.CeilingErrors = ceiling.results[0], ceiling.errors
	}

	if cfg.Phases&Writes != 0 {
		cfg.progress("write path: %d clients declaring and voting for %s", cfg.Concurrency, cfg.Warmup+cfg.Duration)
		callsClients := make([]candorv1.CallServiceClient, len(conns))
		for i, c := range conns {
			callsClients[i] = candorv1.NewCallServiceClient(c)
		}
		first := calls.fresh()
		writes := runPhase(ctx, &cfg, []string{"declaration", "ballot"}, func(client int, n int, rec recordFunc) {
			v := voters[client%len(voters)]
			cc := callsClients[client%len(callsClients)]
			start := time.Now()
			call, err := calls.get(first, client, n)
			if err != nil {
				rec(0, err, start, nil)
				return
			}
			rctx, cancel := context.WithTimeout(v.ctx, cfg.Timeout)
			d, err := cc.FileDeclaration(rctx, &candorv1.FileDeclarationRequest{
				Call:          call,
				Restatement:   &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: v.soiHash},
				ConflictLevel: candorv1.ConflictLevel_CONFLICT_LEVEL_NONE,
				Intent:        candorv1.Intent_INTENT_PARTICIPATE,
			})
			cancel()
			if !rec(0, err, start, d.GetReceipt().GetCheckpoint()) {
				return // no ballot without its declaration
			}
			start = time.Now()
			rctx, cancel = context.WithTimeout(v.ctx, cfg.Timeout)
			b, err := cc.CastBallot(rctx, &candorv1.CastBallotRequest{Call: call, Option: "yes"})
			cancel()
			rec(1, err, start, b.GetReceipt().GetCheckpoint())
		})
		r.Declarations, r.Ballots, r.WriteErrors = writes.results[0], writes.results[1], writes.errors
		r.Commits = writes.commits
	}

	if cfg.Phases&REST != 0 {
		cfg.progress("REST: %d clients declaring and voting over HTTP/JSON at %s for %s", cfg.Concurrency, cfg.HTTPAddr, cfg.Warmup+cfg.Duration)
		rc, err := newRESTClient(cfg.HTTPAddr, cfg.HTTPTLS, cfg.Concurrency, cfg.Timeout)
		if err != nil {
			return nil, err
		}
		defer rc.close()
		bodies := make([][]byte, len(voters))
		for i, v := range voters {
			bodies[i] = declarationBody(v.soiHash)
		}
		first := calls.fresh()
		rest := runPhase(ctx, &cfg, []string{"declaration", "ballot"}, func(client int, n int, rec recordFunc) {
			i := client % len(voters)
			start := time.Now()
			call, err := calls.get(first, client, n)
			if err != nil {
				rec(0, err, start, nil)
				return
			}
			cp, err := rc.post(ctx, "/v1/"+call+"/declarations", voters[i].token, bodies[i])
			if !rec(0, err, start, cp) {
				return // no ballot without its declaration
			}
			start = time.Now()
			cp, err = rc.post(ctx, "/v1/"+call+"/ballots", voters[i].token, ballotBody)
			rec(1, err, start, cp)
		})
		r.REST = true
		r.RESTDeclarations, r.RESTBallots, r.RESTErrors = rest.results[0], rest.results[1], rest.errors
		r.RESTCommits = rest.commits
	}

	if cfg.ServerPID > 0 {
		rss, err := PeakRSS(cfg.ServerPID)
		if err != nil {
			r.RSSUnknown = err.Error()
		}
		r.ServerPeakRSS = rss
	}
	return r, ctx.Err()
}

// waitHealthy waits, up to timeout, until every connection's health check answers SERVING.
func waitHealthy(ctx context.Context, conns []*grpc.ClientConn, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, c := range conns {
		resp, err := healthpb.NewHealthClient(c).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		if err != nil {
			return fmt.Errorf("loadtest: health check: %w", err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("loadtest: server is %s", resp.GetStatus())
		}
	}
	return nil
}

// withToken returns ctx carrying a bearer token.
func withToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// setup creates a chair and cfg.Participants members of a new body, each with an SOI, and opens
// cfg.Calls votes. It returns the voters and the calls' names.
func setup(ctx context.Context, conn *grpc.ClientConn, cfg *Config) ([]voter, *callPool, error) {
	admin := withToken(ctx, cfg.AdminToken)
	ps := candorv1.NewParticipantServiceClient(conn)
	bs := candorv1.NewBodyServiceClient(conn)
	cs := candorv1.NewCallServiceClient(conn)
	// rpc runs one setup RPC, retrying (bounded) when the server sheds it as OVERLOADED: the
	// setup must finish even against a server whose bound on writes in flight is tight.
	rpc := func(base context.Context, f func(context.Context) error) error {
		var err error
		for attempt := range setupAttempts {
			rctx, cancel := context.WithTimeout(base, cfg.Timeout)
			err = f(rctx)
			cancel()
			if err == nil || errorKey(err) != "ResourceExhausted OVERLOADED" {
				return err
			}
			select {
			case <-time.After(time.Duration(attempt+1) * errorPause):
			case <-base.Done():
				return base.Err()
			}
		}
		return err
	}

	var body string
	err := rpc(admin, func(ctx context.Context) error {
		resp, err := bs.CreateBody(ctx, &candorv1.CreateBodyRequest{Title: "candor bench " + time.Now().UTC().Format(time.RFC3339)})
		body = resp.GetBody().GetName()
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("loadtest: create body: %w", err)
	}
	// member creates a participant, adds them to the body and, for voters, files their SOI.
	member := func(i int, role candorv1.Role) (voter, error) {
		name := fmt.Sprintf("bench-%d", i)
		if role == candorv1.Role_ROLE_CHAIR {
			name = "bench-chair"
		}
		var p *candorv1.CreateParticipantResponse
		if err := rpc(admin, func(ctx context.Context) (err error) {
			p, err = ps.CreateParticipant(ctx, &candorv1.CreateParticipantRequest{DisplayName: name})
			return err
		}); err != nil {
			return voter{}, fmt.Errorf("loadtest: create participant %s: %w", name, err)
		}
		groups := []string{"At-Large", "Registries", "Registrars", "Business"}
		if err := rpc(admin, func(ctx context.Context) error {
			_, err := bs.AddMember(ctx, &candorv1.AddMemberRequest{
				Body: body, Participant: p.GetParticipant().GetName(), Role: role, StakeholderGroup: groups[i%len(groups)],
			})
			return err
		}); err != nil {
			return voter{}, fmt.Errorf("loadtest: add member %s: %w", name, err)
		}
		v := voter{ctx: withToken(ctx, p.GetToken()), token: p.GetToken()}
		if role == candorv1.Role_ROLE_CHAIR {
			return v, nil
		}
		if err := rpc(v.ctx, func(ctx context.Context) error {
			resp, err := ps.UpdateStatementOfInterest(ctx, &candorv1.UpdateStatementOfInterestRequest{
				StatementOfInterest: &candorv1.StatementOfInterest{
					Employer: "Example Org", JobTitle: "Member", Represents: "self",
					StakeholderGroups: []string{groups[i%len(groups)]},
				},
			})
			v.soiHash = resp.GetStatementOfInterest().GetContentHash()
			return err
		}); err != nil {
			return voter{}, fmt.Errorf("loadtest: SOI of %s: %w", name, err)
		}
		return v, nil
	}
	chair, err := member(0, candorv1.Role_ROLE_CHAIR)
	if err != nil {
		return nil, nil, err
	}

	voters := make([]voter, cfg.Participants)
	errs := make([]error, cfg.Participants)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(setupWorkers, cfg.Participants) {
		wg.Go(func() {
			for i := range next {
				voters[i], errs[i] = member(i, candorv1.Role_ROLE_MEMBER)
			}
		})
	}
	for i := range cfg.Participants {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}

	// One member may file only domain.MaxDeclarationsPerMember declarations (and as many ballots)
	// in one call; clients that share a voter share that allowance. Half of it per client leaves
	// room for retries.
	clientsPerVoter := (cfg.Concurrency + cfg.Participants - 1) / cfg.Participants
	calls := &callPool{
		k:             cfg.Calls,
		roundsPerCall: max(1, min(domain.MaxDeclarationsPerMember, domain.MaxBallotsPerMember)/(2*clientsPerVoter)),
		open: func(k int) (string, error) {
			var name string
			err := rpc(chair.ctx, func(ctx context.Context) error {
				resp, err := cs.OpenCall(ctx, &candorv1.OpenCallRequest{Body: body, Call: &candorv1.Call{
					Title: fmt.Sprintf("Bench vote %d", k+1),
				}})
				name = resp.GetCall().GetName()
				return err
			})
			if err != nil {
				return "", fmt.Errorf("loadtest: open call: %w", err)
			}
			return name, nil
		},
	}
	if _, err := calls.get(calls.fresh(), 0, 0); err != nil { // the first K calls, before any phase
		return nil, nil, err
	}
	return voters, calls, nil
}

// phase is what a phase measured.
type phase struct {
	results []Result
	errors  map[string]int64
	commits int64
}

// recordFunc reports one RPC of a phase: its kind (an index into the phase's kinds), its error,
// when it started, and for a write the signed checkpoint of its receipt. It reports whether the RPC
// succeeded.
type recordFunc func(kind int, err error, start time.Time, checkpoint []byte) bool

// recorder collects one phase's figures from all its clients.
type recorder struct {
	from, until time.Time // the measured window

	mu      sync.Mutex // guards the fields below
	results []Result
	errors  map[string]int64
	sizes   map[int64]bool // tree sizes of the checkpoints in receipts: one per commit
}

// record counts one RPC that started at start and ended now, if it ended within the window.
func (r *recorder) record(kind int, err error, start time.Time, checkpoint []byte) bool {
	end := time.Now()
	if end.Before(r.from) || end.After(r.until) {
		return err == nil
	}
	size, sized := treeSize(checkpoint)
	r.mu.Lock()
	if err == nil {
		r.results[kind].Count++
		r.results[kind].Latency.Record(end.Sub(start))
		if sized {
			r.sizes[size] = true
		}
	} else {
		r.errors[errorKey(err)]++
	}
	r.mu.Unlock()
	return err == nil
}

// treeSize returns the tree size of a signed checkpoint note (its second line).
func treeSize(note []byte) (int64, bool) {
	_, rest, ok := bytes.Cut(note, []byte("\n"))
	if !ok {
		return 0, false
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	size, err := strconv.ParseInt(string(line), 10, 64)
	return size, err == nil
}

// errorKey names an error by its gRPC code and ErrorInfo reason: "ResourceExhausted OVERLOADED".
func errorKey(err error) string {
	var re *restError
	if errors.As(err, &re) {
		return re.key
	}
	st, ok := status.FromError(err)
	if !ok {
		return "non-gRPC error"
	}
	key := st.Code().String()
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return key + " " + info.GetReason()
		}
	}
	return key
}

// runPhase runs cfg.Concurrency clients, each calling step with its number and its iteration until
// the phase's warm-up and window are over (or ctx is done, or the phase's request bound is reached).
// step reports each RPC to rec, which says whether it succeeded.
func runPhase(ctx context.Context, cfg *Config, kinds []string, step func(client, n int, rec recordFunc)) phase {
	now := time.Now()
	r := &recorder{
		from: now.Add(cfg.Warmup), until: now.Add(cfg.Warmup + cfg.Duration),
		results: make([]Result, len(kinds)), errors: map[string]int64{}, sizes: map[int64]bool{},
	}
	perClient := max(cfg.MaxRequests/cfg.Concurrency/len(kinds), 1)
	rec := func(kind int, err error, start time.Time, checkpoint []byte) bool {
		ok := r.record(kind, err, start, checkpoint)
		if !ok {
			if wait := time.Until(r.until); wait > 0 {
				time.Sleep(min(errorPause, wait))
			}
		}
		return ok
	}
	var wg sync.WaitGroup
	for client := range cfg.Concurrency {
		wg.Go(func() {
			for n := range perClient {
				if ctx.Err() != nil || !time.Now().Before(r.until) {
					return
				}
				step(client, n, rec)
			}
		})
	}
	wg.Wait()
	return phase{results: r.results, errors: r.errors, commits: int64(len(r.sizes))}
}

// callPool hands out the calls a write phase votes in. Client c's n-th write goes to one of K calls,
// (c+n) mod K, as before; after roundsPerCall rounds on those K it moves on to the next K, which the
// pool opens (as the chair) when they are first asked for, so no member runs into the per-call caps
// of domain/limits.go however long or fast a run is. Each phase starts on calls of its own.
type callPool struct {
	k             int
	roundsPerCall int
	open          func(k int) (string, error)

	mu    sync.Mutex
	names []string // guarded by mu
}

// fresh returns the index of the first call of a new set of K, for a phase to start from.
func (p *callPool) fresh() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return (len(p.names) + p.k - 1) / p.k * p.k
}

// get returns the call for client's n-th write in a phase that started at call index first,
// opening calls up to it if needed.
func (p *callPool) get(first, client, n int) (string, error) {
	i := first + n/(p.k*p.roundsPerCall)*p.k + (client+n)%p.k
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.names) <= i {
		name, err := p.open(len(p.names))
		if err != nil {
			return "", err
		}
		p.names = append(p.names, name)
	}
	return p.names[i], nil
}
