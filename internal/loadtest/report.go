package loadtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Targets from issue 5, for this 2-core machine at 256 concurrent clients.
const (
	// TargetRatio is the least write rate, as a fraction of the ceiling, that the write path must reach.
	TargetRatio = 0.5
	// TargetWriteP99 bounds the 99th percentile of write latency.
	TargetWriteP99 = 50 * time.Millisecond
	// TargetRESTRatio is the least REST write rate, as a fraction of the gRPC write rate of the same
	// run, that the REST/JSON gateway must reach (issue 8).
	TargetRESTRatio = 0.6
)

// Report is what a [Run] measured.
type Report struct {
	Participants, Concurrency, Calls, Conns int
	// Warmup is how long each phase ran before it was measured; Window how long it was measured.
	Warmup, Window time.Duration

	// Ceiling is the health-check phase.
	Ceiling Result
	// Declarations and Ballots are the write phase's two kinds of write.
	Declarations, Ballots Result
	// Commits is how many distinct checkpoints the receipts of the write phase's window carried:
	// the number of transactions (group commits) its writes shared.
	Commits int64
	// CeilingErrors and WriteErrors count the RPCs that failed within each phase's window, by gRPC
	// code and, when the server sent one, ErrorInfo reason ("ResourceExhausted OVERLOADED").
	CeilingErrors, WriteErrors map[string]int64

	// REST is set when the REST phase ran: the same declarations and ballots over HTTP/JSON.
	REST bool
	// RESTDeclarations and RESTBallots are the REST phase's writes, RESTCommits the distinct
	// checkpoints in their receipts, RESTErrors its failures named as WriteErrors are.
	RESTDeclarations, RESTBallots Result
	RESTCommits                   int64
	RESTErrors                    map[string]int64

	// ServerPID is the server's process id, 0 when unknown.
	ServerPID int
	// ServerPeakRSS is the server's peak resident memory in bytes (VmHWM), 0 when unknown;
	// RSSUnknown then says why.
	ServerPeakRSS int64
	RSSUnknown    string
}

// Result is one kind of RPC in one phase: how many succeeded within the window and how long they
// took. Failed RPCs are counted in the errors, not here.
type Result struct {
	Count   int64
	Latency Histogram
}

func (r *Report) rate(n int64) float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(n) / r.Window.Seconds()
}

// CeilingRPS is the rate of successful health checks.
func (r *Report) CeilingRPS() float64 { return r.rate(r.Ceiling.Count) }

// WriteRPS is the rate of successful writes: declarations plus ballots.
func (r *Report) WriteRPS() float64 { return r.rate(r.Declarations.Count + r.Ballots.Count) }

// Ratio is WriteRPS over CeilingRPS, 0 without a ceiling.
func (r *Report) Ratio() float64 {
	c := r.CeilingRPS()
	if c == 0 {
		return 0
	}
	return r.WriteRPS() / c
}

// RESTWriteRPS is the rate of successful REST writes: declarations plus ballots.
func (r *Report) RESTWriteRPS() float64 {
	return r.rate(r.RESTDeclarations.Count + r.RESTBallots.Count)
}

// RESTRatio is RESTWriteRPS over WriteRPS (the gRPC writes of the same run), 0 without gRPC writes.
func (r *Report) RESTRatio() float64 {
	w := r.WriteRPS()
	if w == 0 {
		return 0
	}
	return r.RESTWriteRPS() / w
}

// RESTWriteLatency is the latency of REST declarations and ballots together.
func (r *Report) RESTWriteLatency() *Histogram {
	var h Histogram
	h.Merge(&r.RESTDeclarations.Latency)
	h.Merge(&r.RESTBallots.Latency)
	return &h
}

// WritesPerCommit is the mean number of writes that shared a transaction, 0 when unknown.
func (r *Report) WritesPerCommit() float64 {
	if r.Commits == 0 {
		return 0
	}
	return float64(r.Declarations.Count+r.Ballots.Count) / float64(r.Commits)
}

// WriteLatency is the latency of declarations and ballots together.
func (r *Report) WriteLatency() *Histogram {
	var h Histogram
	h.Merge(&r.Declarations.Latency)
	h.Merge(&r.Ballots.Latency)
	return &h
}

// Errors is the number of failed RPCs in all phases.
func (r *Report) Errors() int64 { return sum(r.CeilingErrors) + sum(r.WriteErrors) + sum(r.RESTErrors) }

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// Figure is one line of a report.
type Figure struct {
	Name string `json:"name"`
	// Value is nil when the figure is unknown.
	Value *float64 `json:"value,omitempty"`
	Unit  string   `json:"unit,omitempty"`
	// Text is the value as printed, with its unit or the reason it is unknown.
	Text string `json:"text"`
}

func figure(name string, v float64, unit string) Figure {
	var text string
	switch unit {
	case "ms":
		text = strconv.FormatFloat(v, 'f', 2, 64) + " ms"
	case "MiB":
		text = strconv.FormatFloat(v, 'f', 1, 64) + " MiB"
	case "ratio":
		text = strconv.FormatFloat(v, 'f', 2, 64)
	case "s":
		text = strconv.FormatFloat(v, 'f', 1, 64) + " s"
	default: // "1/s", counts
		text = strconv.FormatFloat(v, 'f', 0, 64)
	}
	return Figure{Name: name, Value: &v, Unit: unit, Text: text}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Figures returns the report's figures in the order they are printed.
func (r *Report) Figures() []Figure {
	fs := []Figure{
		figure("participants", float64(r.Participants), ""),
		figure("concurrency", float64(r.Concurrency), ""),
		figure("calls", float64(r.Calls), ""),
		figure("connections", float64(r.Conns), ""),
		figure("warm-up per phase", r.Warmup.Seconds(), "s"),
		figure("measured per phase", r.Window.Seconds(), "s"),
		figure("ceiling rps", r.CeilingRPS(), "1/s"),
		figure("write rps", r.WriteRPS(), "1/s"),
		figure("declaration rps", r.rate(r.Declarations.Count), "1/s"),
		figure("ballot rps", r.rate(r.Ballots.Count), "1/s"),
		figure("ratio write/ceiling", r.Ratio(), "ratio"),
		figure("writes per commit", r.WritesPerCommit(), "ratio"),
	}
	if r.REST {
		restPerCommit := 0.0
		if r.RESTCommits > 0 {
			restPerCommit = float64(r.RESTDeclarations.Count+r.RESTBallots.Count) / float64(r.RESTCommits)
		}
		fs = append(fs,
			figure("rest write rps", r.RESTWriteRPS(), "1/s"),
			figure("rest declaration rps", r.rate(r.RESTDeclarations.Count), "1/s"),
			figure("rest ballot rps", r.rate(r.RESTBallots.Count), "1/s"),
			figure("ratio rest/grpc writes", r.RESTRatio(), "ratio"),
			figure("rest writes per commit", restPerCommit, "ratio"),
		)
	}
	pcts := func(name string, h *Histogram) {
		for _, p := range []struct {
			label string
			q     float64
		}{{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}} {
			fs = append(fs, figure(name+" "+p.label, ms(h.Quantile(p.q)), "ms"))
		}
	}
	pcts("ceiling", &r.Ceiling.Latency)
	pcts("write", r.WriteLatency())
	pcts("declaration", &r.Declarations.Latency)
	pcts("ballot", &r.Ballots.Latency)
	if r.REST {
		pcts("rest write", r.RESTWriteLatency())
		pcts("rest declaration", &r.RESTDeclarations.Latency)
		pcts("rest ballot", &r.RESTBallots.Latency)
	}
	fs = append(fs, figure("errors", float64(r.Errors()), ""))
	for _, phase := range []struct {
		name string
		m    map[string]int64
	}{{"ceiling", r.CeilingErrors}, {"write", r.WriteErrors}, {"rest", r.RESTErrors}} {
		keys := make([]string, 0, len(phase.m))
		for k := range phase.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fs = append(fs, figure("errors "+phase.name+" "+k, float64(phase.m[k]), ""))
		}
	}
	if r.ServerPeakRSS > 0 {
		f := figure("server peak rss", float64(r.ServerPeakRSS)/(1<<20), "MiB")
		f.Text += fmt.Sprintf(" (VmHWM of pid %d)", r.ServerPID)
		fs = append(fs, f)
	} else {
		why := r.RSSUnknown
		if why == "" {
			why = "no server pid given"
		}
		fs = append(fs, Figure{Name: "server peak rss", Unit: "MiB", Text: "unknown (" + why + ")"})
	}
	return fs
}

// Target is one of issue 5's targets and whether the run met it.
type Target struct {
	Name string `json:"name"`
	Met  bool   `json:"met"`
	Got  string `json:"got"`
}

// Targets checks the run against [TargetRatio], [TargetWriteP99], [TargetRESTRatio] when the REST
// phase ran, and zero errors.
func (r *Report) Targets() []Target {
	p99 := r.WriteLatency().Quantile(0.99)
	ts := []Target{
		{fmt.Sprintf("ratio write/ceiling >= %.2f", TargetRatio), r.Ratio() >= TargetRatio, strconv.FormatFloat(r.Ratio(), 'f', 2, 64)},
		{fmt.Sprintf("write p99 < %d ms", TargetWriteP99.Milliseconds()), p99 < TargetWriteP99 && r.WriteLatency().Count() > 0, strconv.FormatFloat(ms(p99), 'f', 2, 64) + " ms"},
	}
	if r.REST {
		ts = append(ts, Target{fmt.Sprintf("ratio rest/grpc writes >= %.2f", TargetRESTRatio), r.RESTRatio() >= TargetRESTRatio, strconv.FormatFloat(r.RESTRatio(), 'f', 2, 64)})
	}
	return append(ts, Target{"zero errors", r.Errors() == 0, strconv.FormatInt(r.Errors(), 10)})
}

// WriteTo prints the report, one figure per line ("name:  value"), then one line per target.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	type line struct{ k, v string }
	var lines []line
	for _, f := range r.Figures() {
		lines = append(lines, line{f.Name, f.Text})
	}
	for _, t := range r.Targets() {
		verdict := "met"
		if !t.Met {
			verdict = "MISSED"
		}
		lines = append(lines, line{"target " + t.Name, verdict + " (" + t.Got + ")"})
	}
	width := 0
	for _, l := range lines {
		width = max(width, len(l.k))
	}
	var buf bytes.Buffer
	for _, l := range lines {
		fmt.Fprintf(&buf, "%-*s  %s\n", width+1, l.k+":", l.v)
	}
	n, err := w.Write(buf.Bytes())
	return int64(n), err
}

// PeakRSS returns the peak resident memory (VmHWM) of process pid, in bytes, read from
// /proc/<pid>/status (Linux only).
func PeakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return statusField(f, "VmHWM")
}

// statusField reads a "Name:  1234 kB" line of /proc/<pid>/status, in bytes.
func statusField(r io.Reader, name string) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != name {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("loadtest: unexpected %s line %q", name, sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("loadtest: %s: %w", name, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("loadtest: no " + name + " line")
}
