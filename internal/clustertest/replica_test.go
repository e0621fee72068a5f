package clustertest_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/candorhq/candor/internal/etcdtest"
)

// Log lines of candord that the harness follows (internal/daemon and internal/store/etcd.go).
var (
	servingLine = regexp.MustCompile(`msg="candord serving" addr=(\S+)`)
	leadLine    = "sequencer: this replica now sequences the log"
	unleadLine  = "sequencer: this replica stopped sequencing the log"
)

// binaries are candord and candor, built once per test binary (so -count=N builds them once).
var binaries struct {
	once            sync.Once
	candord, candor string
	err             error
}

// buildBinaries builds candord and candor, in parallel, into a folder that lives as long as the
// test binary, and returns their paths.
func buildBinaries(t *testing.T) (candord, candor string) {
	t.Helper()
	binaries.once.Do(func() {
		dir, err := os.MkdirTemp("", "candor-clustertest-")
		if err != nil {
			binaries.err = err
			return
		}
		binDir = dir
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, b := range []struct{ pkg, name string }{
			{"github.com/candorhq/candor/server", "candord"},
			{"github.com/candorhq/candor/client", "candor"},
		} {
			wg.Go(func() { errs[i] = build(dir, b.pkg, b.name) })
		}
		wg.Wait()
		binaries.candord, binaries.candor = filepath.Join(dir, "candord"), filepath.Join(dir, "candor")
		binaries.err = errors.Join(errs...)
	})
	if binaries.err != nil {
		t.Fatal(binaries.err)
	}
	return binaries.candord, binaries.candor
}

// binDir holds the binaries; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// build builds a main package of this module into dir.
func build(dir, pkg, name string) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the cluster test builds %s and needs go on PATH: %w", name, err)
	}
	if out, err := exec.Command(gobin, "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return nil
}

// replica is one candord of the cluster: a fixed address (other replicas forward writes to it, and
// it keeps it across restarts), a data folder, and the process while it runs.
type replica struct {
	name string
	bin  string
	dir  string // --data
	addr string // --listen and --advertise
	args []string
	log  *logFile

	mu      sync.Mutex // guards proc
	proc    *proc      // nil while killed
	leading atomic.Bool
}

// proc is one run of a replica's process.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been reaped
	err  error         // cmd.Wait's result, set before done is closed
}

func newReplica(t *testing.T, name, bin, root string, etcdArgs []string) *replica {
	t.Helper()
	r := &replica{name: name, bin: bin, dir: filepath.Join(root, name+".data"), addr: etcdtest.FreeAddr(t)}
	r.args = append([]string{
		"--data", r.dir, "--listen", r.addr, "--advertise", r.addr, "--http-listen", "",
		"--origin", "candor.test/cluster", "--shutdown-timeout", "2s",
	}, etcdArgs...)
	r.log = &logFile{path: filepath.Join(root, name+".log")}
	t.Cleanup(func() {
		r.kill()
		r.log.close()
		if t.Failed() {
			t.Logf("%s: last notable lines of its log (requests that succeeded left out):\n%s", r.name, r.log.tail(60))
		}
	})
	return r
}

// start starts the replica and waits (bounded) until it serves.
func (r *replica) start(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	if r.proc != nil {
		r.mu.Unlock()
		t.Fatalf("%s: start while it runs", r.name)
	}
	r.mu.Unlock()
	cmd := exec.Command(r.bin, r.args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	r.leading.Store(false)
	p := &proc{cmd: cmd, done: make(chan struct{})}
	serving := make(chan string, 1)
	r.log.printf("--- %s %s", r.bin, strings.Join(r.args, " "))
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			r.log.printf("%s", line)
			switch {
			case strings.Contains(line, leadLine):
				r.leading.Store(true)
			case strings.Contains(line, unleadLine):
				r.leading.Store(false)
			}
			if m := servingLine.FindStringSubmatch(line); m != nil {
				select {
				case serving <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		p.err = cmd.Wait()
		close(p.done)
	}()
	r.mu.Lock()
	r.proc = p
	r.mu.Unlock()
	select {
	case addr := <-serving:
		if addr != r.addr {
			t.Fatalf("%s serves at %s, want %s", r.name, addr, r.addr)
		}
	case <-p.done:
		r.mu.Lock()
		r.proc = nil
		r.mu.Unlock()
		t.Fatalf("%s exited before serving: %v\n%s", r.name, p.err, r.log.tail(40))
	case <-time.After(startTimeout):
		r.kill()
		t.Fatalf("%s did not serve within %v:\n%s", r.name, startTimeout, r.log.tail(40))
	}
}

// kill SIGKILLs the replica, if it runs, and waits (bounded) until it has exited.
func (r *replica) kill() error {
	r.mu.Lock()
	p := r.proc
	r.proc = nil
	r.mu.Unlock()
	if p == nil {
		return nil
	}
	r.leading.Store(false)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-p.done:
		r.log.printf("--- SIGKILLed by the test")
		return nil
	case <-time.After(exitTimeout):
		return fmt.Errorf("%s did not exit %v after SIGKILL", r.name, exitTimeout)
	}
}

// running reports whether the process was started, not killed, and has not exited on its own.
func (r *replica) running() bool {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	return p != nil && r.exited() == nil
}

// exited reports an error if the replica died without the test killing it.
func (r *replica) exited() error {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return fmt.Errorf("%s exited on its own: %v", r.name, p.err)
	default:
		return nil
	}
}

// sequencer waits (bounded) until exactly one running replica says it sequences the log, and
// returns it.
func sequencer(ctx context.Context, reps []*replica) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, sequencerTimeout)
	defer cancel()
	var last string
	for {
		var leading []int
		for i, r := range reps {
			if r.running() && r.leading.Load() {
				leading = append(leading, i)
			}
		}
		if len(leading) == 1 {
			return leading[0], nil
		}
		last = fmt.Sprintf("%d replicas sequence the log (%v)", len(leading), leading)
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("no single sequencer within %v: %s", sequencerTimeout, last)
		case <-time.After(pollEvery):
		}
	}
}

// logFile keeps a process's log on disk (appended across restarts) and its recent notable lines in
// memory: every line but a request that succeeded.
type logFile struct {
	path string

	mu    sync.Mutex // guards f and lines
	f     *os.File   // opened by the first line, closed by close
	lines []string   // the last maxLines, a ring from next
	next  int
}

const maxLines = 200

func (l *logFile) printf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case strings.Contains(line, "msg=rpc") && strings.Contains(line, " code=OK "):
	case len(l.lines) < maxLines:
		l.lines = append(l.lines, line)
	default:
		l.lines[l.next] = line
		l.next = (l.next + 1) % maxLines
	}
	if l.f == nil {
		f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return
		}
		l.f = f
	}
	fmt.Fprintln(l.f, line)
}

func (l *logFile) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

func (l *logFile) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ordered := append(append([]string(nil), l.lines[l.next:]...), l.lines[:l.next]...)
	var b bytes.Buffer
	for _, s := range ordered[max(0, len(ordered)-n):] {
		b.WriteString(s + "\n")
	}
	return b.String()
}
