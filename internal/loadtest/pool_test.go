package loadtest

import (
	"fmt"
	"testing"
)

// A client's writes stay on K calls for roundsPerCall rounds, then move to the next K, which the
// pool opens when first asked; a later phase starts on calls of its own. No member ever files more
// than roundsPerCall rounds in one call, however long the run.
func TestCallPoolRotates(t *testing.T) {
	opened := 0
	p := &callPool{k: 2, roundsPerCall: 3, open: func(k int) (string, error) {
		opened++
		return fmt.Sprint("call-", k), nil
	}}
	first := p.fresh()
	perCall := map[string]int{}
	for n := range 30 {
		name, err := p.get(first, 1, n)
		if err != nil {
			t.Fatal(err)
		}
		perCall[name]++
	}
	if len(perCall) != 10 || opened != 10 {
		t.Fatalf("30 rounds over K=2 calls of 3 rounds each used %d calls, opened %d; want 10 and 10", len(perCall), opened)
	}
	for name, n := range perCall {
		if n > 3 {
			t.Errorf("%s got %d rounds from one client, want at most 3", name, n)
		}
	}
	if next := p.fresh(); next != 10 {
		t.Errorf("a new phase starts at call %d, want 10", next)
	}
	if name, _ := p.get(p.fresh(), 0, 0); name != "call-10" {
		t.Errorf("a new phase's first call is %s, want call-10", name)
	}
}
