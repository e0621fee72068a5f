package loadtest

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sampleReport() *Report {
	r := &Report{
		Participants: 256, Concurrency: 256, Calls: 4, Conns: 1,
		Warmup: time.Second, Window: 10 * time.Second,
		CeilingErrors: map[string]int64{},
		WriteErrors:   map[string]int64{"ResourceExhausted OVERLOADED": 3, "Unavailable": 1},
		ServerPID:     4242, ServerPeakRSS: 96 << 20,
		Commits: 600,
	}
	r.Ceiling.Count = 100_000
	for range 100 {
		r.Ceiling.Latency.Record(2 * time.Millisecond)
	}
	r.Declarations.Count, r.Ballots.Count = 30_000, 30_000
	for i := range 100 {
		r.Declarations.Latency.Record(10 * time.Millisecond)
		r.Ballots.Latency.Record(time.Duration(i+1) * time.Millisecond)
	}
	return r
}

func TestReportText(t *testing.T) {
	var b strings.Builder
	if _, err := sampleReport().WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := `participants:                               256
concurrency:                                256
calls:                                      4
connections:                                1
warm-up per phase:                          1.0 s
measured per phase:                         10.0 s
ceiling rps:                                10000
write rps:                                  6000
declaration rps:                            3000
ballot rps:                                 3000
ratio write/ceiling:                        0.60
writes per commit:                          100.00
ceiling p50:                                2.00 ms
ceiling p90:                                2.00 ms
ceiling p99:                                2.00 ms
write p50:                                  10.03 ms
write p90:                                  80.22 ms
write p99:                                  98.04 ms
declaration p50:                            10.00 ms
declaration p90:                            10.00 ms
declaration p99:                            10.00 ms
ballot p50:                                 50.07 ms
ballot p90:                                 90.18 ms
ballot p99:                                 99.09 ms
errors:                                     4
errors write ResourceExhausted OVERLOADED:  3
errors write Unavailable:                   1
server peak rss:                            96.0 MiB (VmHWM of pid 4242)
target ratio write/ceiling >= 0.50:         met (0.60)
target write p99 < 50 ms:                   MISSED (98.04 ms)
target zero errors:                         MISSED (4)
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

func TestReportUnknownRSSAndEmpty(t *testing.T) {
	r := &Report{RSSUnknown: "open /proc/1/status: permission denied"}
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"server peak rss:                     unknown (open /proc/1/status: permission denied)\n",
		"ratio write/ceiling:                 0.00\n",
		"target write p99 < 50 ms:            MISSED (0.00 ms)\n", // no write at all is no success
		"target zero errors:                  met (0)\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	if got := (&Report{}).Figures()[len((&Report{}).Figures())-1].Text; got != "unknown (no server pid given)" {
		t.Errorf("rss without pid = %q", got)
	}
}

func TestFiguresJSON(t *testing.T) {
	b, err := json.Marshal(sampleReport().Figures())
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	byName := map[string]map[string]any{}
	for _, f := range got {
		byName[f["name"].(string)] = f
	}
	if v := byName["ratio write/ceiling"]["value"]; v != 0.6 {
		t.Errorf("ratio value = %v, want 0.6", v)
	}
	if v := byName["write p99"]["unit"]; v != "ms" {
		t.Errorf("write p99 unit = %v, want ms", v)
	}
	unknown, _ := json.Marshal((&Report{}).Figures())
	if !strings.Contains(string(unknown), `{"name":"server peak rss","unit":"MiB","text":"unknown (no server pid given)"}`) {
		t.Errorf("unknown rss has a value: %s", unknown)
	}
}

func TestStatusField(t *testing.T) {
	status := "Name:\tcandord\nVmPeak:\t  1000 kB\nVmHWM:\t   2048 kB\nVmRSS:\t 1024 kB\n"
	got, err := statusField(strings.NewReader(status), "VmHWM")
	if err != nil || got != 2048<<10 {
		t.Errorf("VmHWM = %d, %v; want %d", got, err, 2048<<10)
	}
	if _, err := statusField(strings.NewReader("Name: x\n"), "VmHWM"); err == nil {
		t.Error("missing VmHWM: no error")
	}
	if _, err := statusField(strings.NewReader("VmHWM: 12 MB\n"), "VmHWM"); err == nil {
		t.Error("VmHWM in MB: no error")
	}
}

func TestPeakRSSOfSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	got, err := PeakRSS(os.Getpid())
	if err != nil || got <= 0 {
		t.Errorf("PeakRSS(self) = %d, %v", got, err)
	}
}

func TestTreeSize(t *testing.T) {
	tests := []struct {
		note string
		want int64
		ok   bool
	}{
		{"candor.test/log\n1234\nq4ONbQ2...=\n\n\u2014 candor.test/log abcd\n", 1234, true},
		{"candor.test/log\n0\nroot\n", 0, true},
		{"candor.test/log\n", 0, false},
		{"no newline", 0, false},
		{"origin\nnot a number\n", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := treeSize([]byte(tt.note))
		if got != tt.want || ok != tt.ok {
			t.Errorf("treeSize(%q) = %d, %v; want %d, %v", tt.note, got, ok, tt.want, tt.ok)
		}
	}
}
