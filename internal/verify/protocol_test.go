package verify_test

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/verify"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestLogDistrustsTheServersAnswers serves a log from memory and bends the server's answers the
// ways a broken or hostile server could; each must fail (or, where the answer is harmless, pass).
func TestLogDistrustsTheServersAnswers(t *testing.T) {
	honest := newGen(t)
	session(honest, newCouncil(honest))
	bad := newGen(t)
	c := newCouncil(bad)
	session(bad, c)
	call := bad.open(c.body, c.chair, nil)
	bad.vote(call, c.alice, "yes")
	badBallot := bad.last()

	tests := []struct {
		name        string
		entries     [][]byte
		list        func(req *candorv1.ListEntriesRequest, resp *candorv1.ListEntriesResponse) error
		consistency func(proof [][]byte)
		wantErr     error // nil: success
		wantIndex   int64 // -1: no entry named
	}{
		{"honest", honest.entries, nil, nil, nil, -1},
		{"entries served under the wrong index", honest.entries, func(req *candorv1.ListEntriesRequest, resp *candorv1.ListEntriesResponse) error {
			if req.StartIndex == 16 {
				resp.Entries[0].Index = 17
			}
			return nil
		}, nil, verify.ErrMissingEntries, 16},
		{"an entry served twice in place of the next", honest.entries, func(req *candorv1.ListEntriesRequest, resp *candorv1.ListEntriesResponse) error {
			if req.StartIndex == 16 {
				resp.Entries[1].Data = resp.Entries[0].Data
			}
			return nil
		}, nil, verify.ErrRootMismatch, 17},
		{"more entries than asked for", honest.entries, func(req *candorv1.ListEntriesRequest, resp *candorv1.ListEntriesResponse) error {
			next := req.StartIndex + int64(len(resp.Entries))
			resp.Entries = append(resp.Entries, &candorv1.Entry{Index: next, Data: []byte("not checked here")})
			return nil
		}, nil, nil, -1},
		{"an empty page before the end", honest.entries, func(req *candorv1.ListEntriesRequest, resp *candorv1.ListEntriesResponse) error {
			if req.StartIndex >= 24 {
				resp.Entries = nil
			}
			return nil
		}, nil, verify.ErrMissingEntries, 24},
		{"pages too large for the client", honest.entries, func(req *candorv1.ListEntriesRequest, resp *candorv1.ListEntriesResponse) error {
			if req.MaxEntries > 2 {
				return status.Error(codes.ResourceExhausted, "grpc: received message larger than max")
			}
			return nil
		}, nil, nil, -1},
		{"a wrong consistency proof for honest entries", honest.entries, nil, func(proof [][]byte) {
			proof[0][0] ^= 1
		}, verify.ErrRootMismatch, -1},
		{"a signed log that breaks the rules", bad.entries, nil, nil, domain.ErrDeclarationRequired, badBallot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemLog(t, tt.entries)
			m.list, m.consistency = tt.list, tt.consistency
			// Pages of 8 entries start at 0, 8, 16, 24...
			sum, err := verify.Log(t.Context(), m, verify.Options{VerifierKey: m.key, StateDir: t.TempDir(), PageSize: 8})
			if tt.wantErr == nil {
				if err != nil || sum.Entries != int64(len(tt.entries)) {
					t.Errorf("Log: %d entries, %v; want all %d verified", sum.Entries, err, len(tt.entries))
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Log: %v, want an error wrapping %v", err, tt.wantErr)
			}
			gotIndex := int64(-1)
			if ee := (*verify.EntryError)(nil); errors.As(err, &ee) {
				gotIndex = ee.Index
			}
			if gotIndex != tt.wantIndex {
				t.Errorf("Log: %v; named entry %d, want %d (-1: none)", err, gotIndex, tt.wantIndex)
			}
		})
	}
}

// TestLogKeepsTheCheckpointOfALogThatBreaksTheRules checks that a signed checkpoint is kept even when
// the replay then fails, so that rolling the log back to hide the bad entry fails too.
func TestLogKeepsTheCheckpointOfALogThatBreaksTheRules(t *testing.T) {
	g := newGen(t)
	c := newCouncil(g)
	call := g.open(c.body, c.chair, nil)
	honestSize := len(g.entries)
	g.vote(call, c.alice, "yes")
	state := t.TempDir()
	m := newMemLog(t, g.entries)
	if _, err := verify.Log(t.Context(), m, verify.Options{VerifierKey: m.key, StateDir: state}); !errors.Is(err, domain.ErrDeclarationRequired) {
		t.Fatalf("Log: %v, want the ballot refused", err)
	}
	// The same log without its bad entry, signed by the same key.
	rolledBack := newMemLogSigned(t, g.entries[:honestSize], m.signer)
	if _, err := verify.Log(t.Context(), rolledBack, verify.Options{VerifierKey: m.key, StateDir: state}); !errors.Is(err, verify.ErrNotConsistent) {
		t.Errorf("Log after the bad entry was rolled back: %v, want ErrNotConsistent", err)
	}
}
