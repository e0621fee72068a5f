package etcdtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	rpctypes "go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// memberPkg is the command that runs one member; see its package comment.
const memberPkg = "github.com/candorhq/candor/internal/etcdtest/etcdmember"

const (
	pollEvery = 50 * time.Millisecond
	// probeTimeout bounds one Status or Get against one member. A member accepts connections some
	// time before it serves them, so a longer timeout only delays seeing it ready.
	probeTimeout = time.Second
	exitTimeout  = 10 * time.Second // for a SIGKILLed member to be reaped
	startTries   = 3                // when a picked port was taken before etcd bound it
)

// ErrNoLeader is returned by [Cluster.Leader] when the running members do not agree on a running
// leader (an election is under way, or a member has not caught up yet).
var ErrNoLeader = errors.New("etcdtest: no agreed leader")

// Options configure a cluster. The zero value gives the defaults.
type Options struct {
	// HeartbeatInterval is etcd's --heartbeat-interval (default 50ms, millisecond resolution).
	HeartbeatInterval time.Duration
	// ElectionTimeout is etcd's --election-timeout (default 500ms, millisecond resolution).
	ElectionTimeout time.Duration
	// MaxTxnOps is etcd's --max-txn-ops; 0 keeps etcd's default (128).
	MaxTxnOps int
	// StartTimeout bounds each wait for members to become healthy, in [Start] and
	// [Cluster.Restart] (default 30s).
	StartTimeout time.Duration
	// ExtraArgs are passed to every member after the harness's own flags.
	ExtraArgs []string
}

func (o Options) withDefaults() Options {
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = 50 * time.Millisecond
	}
	if o.ElectionTimeout == 0 {
		o.ElectionTimeout = 500 * time.Millisecond
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 30 * time.Second
	}
	return o
}

var built struct {
	once sync.Once
	path string
	err  error
}

// Build builds the etcd member command from the module's pinned etcd version, once per test
// binary, and returns the path of the executable. It fails the test if the build fails.
//
// The executable goes to a folder under os.TempDir() named for the module's go.mod, replaced
// atomically on every build, so test binaries of one checkout share one copy instead of leaving
// one behind each.
func Build(t testing.TB) string {
	t.Helper()
	built.once.Do(func() { built.path, built.err = build() })
	if built.err != nil {
		t.Fatalf("etcdtest: %v", built.err)
	}
	return built.path
}

func build() (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building etcd needs go on PATH: %w", err)
	}
	gomod, err := exec.Command(gobin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	sum := sha256.Sum256(bytes.TrimSpace(gomod))
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("candor-etcdtest-%d-%x", os.Getuid(), sum[:6]))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	// Builds of test binaries that were killed mid-build leave their folders behind.
	stale, _ := filepath.Glob(filepath.Join(dir, "build-*"))
	for _, d := range stale {
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > time.Hour {
			os.RemoveAll(d)
		}
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	out, err := exec.Command(gobin, "build", "-o", filepath.Join(tmp, "etcdmember"), memberPkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", memberPkg, err, out)
	}
	bin := filepath.Join(dir, "etcdmember")
	// A rename replaces the file even while another test binary runs the old one.
	if err := os.Rename(filepath.Join(tmp, "etcdmember"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// Cluster is a running etcd cluster started by [Start].
type Cluster struct {
	t       testing.TB
	bin     string
	opts    Options
	token   string
	initial string           // --initial-cluster
	probe   *clientv3.Client // asks members for their status

	mu      sync.Mutex // guards members[*].proc and members[*].stopped, and closed
	members []*member
	closed  bool
}

type member struct {
	name      string
	clientURL string
	peerURL   string
	dataDir   string
	logPath   string
	proc      *proc // nil while killed
	stopped   bool  // SIGSTOPped and not yet SIGCONTed
}

// proc is one run of a member's process.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been reaped
	err  error         // cmd.Wait's result, set before done is closed
}

var clusters atomic.Int64 // numbers clusters so no two share an --initial-cluster-token

// Start starts an n-member cluster on 127.0.0.1 and waits until every member is healthy and
// they agree on a leader. The cluster is closed when the test ends.
func Start(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("etcdtest: Start(%d): want at least one member", n)
	}
	c := &Cluster{t: t, bin: Build(t), opts: opts.withDefaults()}
	dir := t.TempDir()
	// Registered after t.TempDir, so it runs before the folder is removed.
	t.Cleanup(func() {
		c.Close()
		if t.Failed() {
			c.logTails()
		}
	})
	for try := 1; ; try++ {
		err := c.boot(filepath.Join(dir, fmt.Sprintf("try%d", try)), n)
		if err == nil {
			return c
		}
		c.killAll()
		if try == startTries || !c.portTaken() {
			t.Fatalf("etcdtest: starting %d members: %v", n, err)
		}
		t.Logf("etcdtest: a port was taken before etcd bound it; starting again (%v)", err)
	}
}

// boot lays out n members on fresh ports and under dir, starts them, and waits until they are
// healthy.
func (c *Cluster) boot(dir string, n int) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	ports, err := freePorts(2 * n)
	if err != nil {
		return err
	}
	c.token = fmt.Sprintf("etcdtest-%d-%d", os.Getpid(), clusters.Add(1))
	members := make([]*member, n)
	initial := make([]string, n)
	for i := range members {
		m := &member{
			name:      fmt.Sprintf("m%d", i),
			clientURL: fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]),
			peerURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
		}
		m.dataDir = filepath.Join(dir, m.name+".etcd")
		m.logPath = filepath.Join(dir, m.name+".log")
		members[i] = m
		initial[i] = m.name + "=" + m.peerURL
	}
	c.mu.Lock()
	c.members = members
	c.mu.Unlock()
	c.initial = strings.Join(initial, ",")
	if c.probe != nil {
		c.probe.Close()
	}
	if c.probe, err = newClient(c.Endpoints()); err != nil {
		return err
	}
	for i := range members {
		if err := c.launch(i, "new"); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StartTimeout)
	defer cancel()
	return c.waitHealthy(ctx, nil)
}

// freePorts returns n distinct ports that were free on 127.0.0.1 a moment ago. They are picked
// below Linux's ephemeral range (32768 and up), where the kernel never hands out the source port of
// an outgoing connection: a member or replica restarted on its old port after a kill finds it free.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries == 1000 {
			return nil, errors.New("etcdtest: no free port below 32768")
		}
		p := 20000 + rand.IntN(12000)
		if slices.Contains(ports, p) {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue // taken
		}
		defer l.Close() // held until all are picked, so they are distinct
		ports = append(ports, p)
	}
	return ports, nil
}

// FreeAddr returns 127.0.0.1:PORT with a port that was free a moment ago, picked as the members'
// are (see freePorts), for a process that tests restart on the same address.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", ports[0])
}

// launch starts member i's process with --initial-cluster-state state.
func (c *Cluster) launch(i int, state string) error {
	m := c.members[i]
	args := []string{
		"--name", m.name,
		"--data-dir", m.dataDir,
		"--listen-client-urls", m.clientURL,
		"--advertise-client-urls", m.clientURL,
		"--listen-peer-urls", m.peerURL,
		"--initial-advertise-peer-urls", m.peerURL,
		"--initial-cluster", c.initial,
		"--initial-cluster-state", state,
		"--initial-cluster-token", c.token,
		"--heartbeat-interval", strconv.FormatInt(c.opts.HeartbeatInterval.Milliseconds(), 10),
		"--election-timeout", strconv.FormatInt(c.opts.ElectionTimeout.Milliseconds(), 10),
		"--log-outputs", "stderr",
	}
	if c.opts.MaxTxnOps > 0 {
		args = append(args, "--max-txn-ops", strconv.Itoa(c.opts.MaxTxnOps))
	}
	args = append(args, c.opts.ExtraArgs...)

	logf, err := os.OpenFile(m.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close() // the member has its own descriptor once started
	fmt.Fprintf(logf, "etcdtest: %s %s\n", c.bin, strings.Join(args, " "))

	cmd := exec.Command(c.bin, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = memberEnv()
	cmd.SysProcAttr = sysProcAttr()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("the cluster is closed")
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", m.name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	m.proc, m.stopped = p, false
	return nil
}

// memberEnv is the test's environment without ETCD_* variables, which etcd would read as flags.
func memberEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD_") {
			env = append(env, kv)
		}
	}
	return env
}

// portTaken reports whether a member's log says that its address was in use.
func (c *Cluster) portTaken() bool {
	for _, m := range c.members {
		b, _ := os.ReadFile(m.logPath)
		if bytes.Contains(b, []byte("address already in use")) {
			return true
		}
	}
	return false
}

// Endpoints returns the members' client URLs, in member order.
func (c *Cluster) Endpoints() []string {
	eps := make([]string, len(c.members))
	for i, m := range c.members {
		eps[i] = m.clientURL
	}
	return eps
}

// Client returns a client of all members, closed when the test ends.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	return c.client(t, c.Endpoints())
}

// MemberClient returns a client of member i alone, closed when the test ends.
func (c *Cluster) MemberClient(t testing.TB, i int) *clientv3.Client {
	t.Helper()
	if i < 0 || i >= len(c.members) {
		t.Fatalf("etcdtest: no member %d in a cluster of %d", i, len(c.members))
	}
	return c.client(t, c.Endpoints()[i:i+1])
}

func (c *Cluster) client(t testing.TB, endpoints []string) *clientv3.Client {
	t.Helper()
	cli, err := newClient(endpoints)
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func newClient(endpoints []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(), // retries while members are down would flood the test log
	})
}

// running returns the indexes of members that are neither killed nor stopped.
func (c *Cluster) running() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var idx []int
	for i, m := range c.members {
		if m.proc != nil && !m.stopped {
			idx = append(idx, i)
		}
	}
	return idx
}

// status asks member i for its status, bounded by probeTimeout.
func (c *Cluster) status(ctx context.Context, i int) (*clientv3.StatusResponse, error) {
	// Until the member listens, gRPC would wait out its reconnect backoff, up to the deadline;
	// a refused TCP dial says "not yet" at once.
	d := net.Dialer{Timeout: probeTimeout}
	conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(c.members[i].clientURL, "http://"))
	if err != nil {
		return nil, fmt.Errorf("%s is not listening: %w", c.members[i].name, err)
	}
	conn.Close()
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	resp, err := c.probe.Status(ctx, c.members[i].clientURL)
	if err != nil {
		return nil, fmt.Errorf("status of %s: %w", c.members[i].name, err)
	}
	return resp, nil
}

// Leader returns the index of the leader, asking every member that is neither killed nor stopped
// for its status: they must all name the same leader, and it must be one of them. Otherwise it
// returns an error wrapping [ErrNoLeader], or the error of a member that did not answer.
func (c *Cluster) Leader(ctx context.Context) (int, error) {
	running := c.running()
	if len(running) == 0 {
		return -1, fmt.Errorf("%w: no member is running", ErrNoLeader)
	}
	leader, ids := uint64(0), make(map[uint64]int)
	for _, i := range running {
		resp, err := c.status(ctx, i)
		if err != nil {
			return -1, err
		}
		ids[resp.Header.MemberId] = i
		switch {
		case resp.Leader == 0:
			return -1, fmt.Errorf("%w: %s knows no leader", ErrNoLeader, c.members[i].name)
		case leader == 0:
			leader = resp.Leader
		case resp.Leader != leader:
			return -1, fmt.Errorf("%w: members name %x and %x", ErrNoLeader, leader, resp.Leader)
		}
	}
	i, ok := ids[leader]
	if !ok {
		return -1, fmt.Errorf("%w: leader %x is not running", ErrNoLeader, leader)
	}
	return i, nil
}

// WaitLeader polls [Cluster.Leader] until it names a leader or ctx is done.
func (c *Cluster) WaitLeader(ctx context.Context) (int, error) {
	leader := -1
	err := poll(ctx, func() error {
		var err error
		leader, err = c.Leader(ctx)
		return err
	})
	return leader, err
}

// WaitHealthy polls until every member that is neither killed nor stopped is healthy (answers
// a linearizable read, reports no alarm) and [Cluster.Leader] names a leader, or ctx is done.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	return c.waitHealthy(ctx, nil)
}

// waitHealthy is WaitHealthy; a member in must (if any) must be running too.
func (c *Cluster) waitHealthy(ctx context.Context, must []int) error {
	return poll(ctx, func() error {
		c.mu.Lock()
		for _, i := range must {
			if p := c.members[i].proc; p == nil {
				c.mu.Unlock()
				return permanent{fmt.Errorf("%s was killed", c.members[i].name)}
			}
		}
		for _, m := range c.members {
			if p := m.proc; p != nil && p.exited() {
				c.mu.Unlock()
				return permanent{fmt.Errorf("%s exited: %v", m.name, p.err)}
			}
		}
		c.mu.Unlock()
		for _, i := range c.running() {
			if err := c.healthy(ctx, i); err != nil {
				return err
			}
		}
		_, err := c.Leader(ctx)
		return err
	})
}

// healthy checks member i as etcdctl endpoint health does: a linearizable read through it alone
// succeeds (permission denied counts as an answer), and its status shows no alarm.
func (c *Cluster) healthy(ctx context.Context, i int) error {
	m := c.members[i]
	resp, err := c.status(ctx, i)
	if err != nil {
		return err
	}
	if len(resp.Errors) > 0 {
		return fmt.Errorf("%s reports %s", m.name, strings.Join(resp.Errors, "; "))
	}
	// A fresh client each time: a long-lived one would redial a restarted member only after
	// gRPC's backoff, which can outlast the wait.
	cli, err := newClient([]string{m.clientURL})
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if _, err := cli.Get(ctx, "health"); err != nil && !errors.Is(err, rpctypes.ErrPermissionDenied) {
		return fmt.Errorf("read through %s: %w", m.name, err)
	}
	return nil
}

// Kill SIGKILLs member i's process group and waits until the process is reaped. A member that
// exited by itself counts as killed, so that it can be restarted.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	p := c.proc(i)
	if err := killGroup(p, syscall.SIGKILL); err != nil && !p.exited() {
		c.t.Fatalf("etcdtest: kill %s: %v", c.members[i].name, err)
	}
	select {
	case <-p.done:
	case <-time.After(exitTimeout):
		c.t.Fatalf("etcdtest: %s did not exit %v after SIGKILL", c.members[i].name, exitTimeout)
	}
	c.mu.Lock()
	c.members[i].proc = nil
	c.members[i].stopped = false
	c.mu.Unlock()
}

// Stop SIGSTOPs member i's process group and waits until the process is stopped. Until
// [Cluster.Cont], Leader and WaitHealthy leave it out.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	p := c.proc(i)
	if err := killGroup(p, syscall.SIGSTOP); err != nil {
		c.t.Fatalf("etcdtest: stop %s: %v", c.members[i].name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), exitTimeout)
	defer cancel()
	err := poll(ctx, func() error {
		stopped, err := isStopped(p.cmd.Process.Pid)
		if err != nil {
			return permanent{err}
		}
		if !stopped {
			return errors.New("not stopped yet")
		}
		return nil
	})
	if err != nil {
		c.t.Fatalf("etcdtest: stop %s: %v", c.members[i].name, err)
	}
	c.mu.Lock()
	c.members[i].stopped = true
	c.mu.Unlock()
}

// Cont SIGCONTs member i's process group.
func (c *Cluster) Cont(i int) {
	c.t.Helper()
	p := c.proc(i)
	if err := killGroup(p, syscall.SIGCONT); err != nil {
		c.t.Fatalf("etcdtest: continue %s: %v", c.members[i].name, err)
	}
	c.mu.Lock()
	c.members[i].stopped = false
	c.mu.Unlock()
}

// Restart starts killed member i again on its data folder (--initial-cluster-state existing) and
// waits until it and the running members are healthy.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.mu.Lock()
	p := c.members[i].proc
	c.mu.Unlock()
	if p != nil {
		c.t.Fatalf("etcdtest: restart %s: it is running; Kill it first", c.members[i].name)
	}
	if err := c.launch(i, "existing"); err != nil {
		c.t.Fatalf("etcdtest: restart %s: %v", c.members[i].name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StartTimeout)
	defer cancel()
	if err := c.waitHealthy(ctx, []int{i}); err != nil {
		c.t.Fatalf("etcdtest: restart %s: %v", c.members[i].name, err)
	}
}

// proc returns member i's running process, failing the test if it was killed.
func (c *Cluster) proc(i int) *proc {
	c.t.Helper()
	if i < 0 || i >= len(c.members) {
		c.t.Fatalf("etcdtest: no member %d in a cluster of %d", i, len(c.members))
	}
	c.mu.Lock()
	p := c.members[i].proc
	c.mu.Unlock()
	if p == nil {
		c.t.Fatalf("etcdtest: %s was killed; Restart it first", c.members[i].name)
	}
	return p
}

// killGroup signals the process group led by the member, which it started with Setpgid.
func killGroup(p *proc, sig syscall.Signal) error {
	err := syscall.Kill(-p.cmd.Process.Pid, sig)
	if errors.Is(err, syscall.ESRCH) && p.exited() {
		return fmt.Errorf("it had exited: %v", p.err)
	}
	return err
}

// exited reports whether the process has exited and been reaped.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Close kills every member and waits for them to exit. It is called when the test ends, and may
// be called earlier.
func (c *Cluster) Close() {
	c.mu.Lock()
	closed := c.closed
	c.closed = true
	c.mu.Unlock()
	if closed {
		return
	}
	c.killAll()
	if c.probe != nil {
		c.probe.Close()
	}
}

// killAll SIGKILLs every running member and waits (bounded) until each is reaped.
func (c *Cluster) killAll() {
	c.mu.Lock()
	var procs []*proc
	for _, m := range c.members {
		if m.proc != nil {
			procs = append(procs, m.proc)
		}
		m.proc, m.stopped = nil, false
	}
	c.mu.Unlock()
	for _, p := range procs {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(exitTimeout):
			c.t.Errorf("etcdtest: a member (pid %d) did not exit %v after SIGKILL", p.cmd.Process.Pid, exitTimeout)
		}
	}
}

// logTails logs the end of every member's log.
func (c *Cluster) logTails() {
	const lines = 30
	for _, m := range c.members {
		b, err := os.ReadFile(m.logPath)
		if err != nil {
			c.t.Logf("etcdtest: %s log: %v", m.name, err)
			continue
		}
		all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(all) > lines {
			all = all[len(all)-lines:]
		}
		c.t.Logf("etcdtest: last %d lines of %s's log:\n%s", len(all), m.name, strings.Join(all, "\n"))
	}
}

// permanent marks an error that poll must not retry.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// poll calls f every pollEvery until it returns nil or a permanent error, or ctx is done.
func poll(ctx context.Context, f func() error) error {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		err := f()
		var perm permanent
		switch {
		case err == nil:
			return nil
		case errors.As(err, &perm):
			return perm.err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last: %w", ctx.Err(), err)
		case <-tick.C:
		}
	}
}
