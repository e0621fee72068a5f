package clustertest_test

import (
	"testing"
	"time"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestLongestPause checks the measure the cluster test holds each fault to.
func TestLongestPause(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	b := newBook()
	for i, ms := range []int{0, 100, 200, 1700, 1800, 4000} {
		if err := b.add(ack{id: string(rune('a' + i)), kind: candorv1.EntryKind_ENTRY_KIND_BALLOT, index: int64(i), at: at(ms)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name      string
		from, to  int
		want      time.Duration
		wantBegan int
	}{
		{"from the last acknowledgement before from", 150, 1800, 1500 * time.Millisecond, 200},
		{"to the end when nothing follows", 4000, 9000, 5 * time.Second, 4000},
		{"the window's own gaps", 1750, 4000, 2200 * time.Millisecond, 1800},
		{"before any acknowledgement", -500, 50, 500 * time.Millisecond, -500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, began := b.longestPause(at(tc.from), at(tc.to))
			if got != tc.want || !began.Equal(at(tc.wantBegan)) {
				t.Errorf("longestPause(%d ms, %d ms) = %v from %v, want %v from %d ms", tc.from, tc.to, got, began.Sub(t0), tc.want, tc.wantBegan)
			}
		})
	}
	if err := b.add(ack{id: "a", index: 99, at: at(5000)}); err == nil {
		t.Error("a request id acknowledged twice was accepted")
	}
	if err := b.add(ack{id: "z", index: 3, at: at(5000)}); err == nil {
		t.Error("an entry acknowledged for two requests was accepted")
	}
}
