package crashtest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	ts "github.com/candorhq/candor/internal/testserver"
	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// ledgerOnServer returns a ledger holding the receipts of a few writes to a fresh server.
func ledgerOnServer(t *testing.T) (*Ledger, *ts.Client) {
	srv := ts.Start(t)
	w := ts.NewWorld(t, srv)
	l := NewLedger(srv.VerifierKey)
	call := w.OpenVote(t, nil).Name
	for _, c := range []*ts.Client{w.Alice, w.Bob} {
		d := w.Declare(t, c, call, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
		b, err := ts.Vote(t, c, call, "yes")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []*candorv1.Receipt{d.GetReceipt(), b.GetReceipt()} {
			if err := l.Keep(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	return l, w.Admin
}

func TestCheckFindsLostWrites(t *testing.T) {
	l, admin := ledgerOnServer(t)
	res, err := l.Check(admin.Ctx(t), admin.Audit)
	if err != nil || res.Lost != 0 || res.Acked != 4 || res.Ballots != 2 {
		t.Fatalf("honest server: %+v, %v; want 4 acknowledged, none lost, 2 ballots", res, err)
	}
	last := l.acks[len(l.acks)-1]
	tests := []struct {
		name string
		ack  Ack
	}{
		{"changed bytes", Ack{Index: last.Index, Entry: append(bytes.Clone(last.Entry), 0), Size: last.Size}},
		{"past the tree", Ack{Index: res.Size + 5, Entry: last.Entry, Size: res.Size + 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := l.acks
			defer func() { l.acks = saved }()
			l.acks = append(append([]Ack(nil), saved...), tt.ack)
			res, err := l.Check(admin.Ctx(t), admin.Audit)
			if !errors.Is(err, ErrLost) || res.Lost != 1 {
				t.Errorf("Check = %+v, %v; want 1 lost and ErrLost", res, err)
			}
		})
	}
}

func TestCheckFindsForeignCheckpoint(t *testing.T) {
	l, admin := ledgerOnServer(t)
	// A checkpoint of size 3 whose root is not the root of the log's first 3 entries.
	l.checkpoints[3] = translog.Checkpoint{Origin: "candor.test/log", Size: 3, Hash: translog.LeafHash([]byte("forged"))}
	if _, err := l.Check(admin.Ctx(t), admin.Audit); !errors.Is(err, translog.ErrProofFailed) {
		t.Errorf("Check = %v, want ErrProofFailed", err)
	}
	// Two roots for one size are a fork, whoever signed them.
	if err := l.keepCheckpoint(translog.Checkpoint{Size: 3, Hash: translog.LeafHash([]byte("other"))}); !errors.Is(err, translog.ErrProofFailed) {
		t.Errorf("keepCheckpoint of a second root = %v, want ErrProofFailed", err)
	}
}

func TestKeepRefusesBadReceipt(t *testing.T) {
	srv := ts.Start(t)
	w := ts.NewWorld(t, srv)
	call := w.OpenVote(t, nil).Name
	d := w.Declare(t, w.Alice, call, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
	bad := proto.Clone(d.GetReceipt()).(*candorv1.Receipt)
	bad.Entry = append(bad.Entry, 1)
	if err := NewLedger(srv.VerifierKey).Keep(bad); !errors.Is(err, translog.ErrProofFailed) {
		t.Errorf("Keep(altered entry) = %v, want ErrProofFailed", err)
	}
	if err := NewLedger("candor.test/other+00000000+AAAA").Keep(d.GetReceipt()); err == nil {
		t.Error("Keep with another log's key: no error")
	}
}

func TestInvariant(t *testing.T) {
	const call, alice = "bodies/b/calls/c", "participants/a"
	opened := &candorv1.LogEntry{Kind: candorv1.EntryKind_ENTRY_KIND_CALL_OPENED, Subject: call,
		Payload: &candorv1.LogEntry_Call{Call: &candorv1.Call{Name: call}}}
	soi := func(v int64) *candorv1.LogEntry {
		return &candorv1.LogEntry{Kind: candorv1.EntryKind_ENTRY_KIND_SOI_VERSION, Subject: alice,
			Payload: &candorv1.LogEntry_StatementOfInterest{StatementOfInterest: &candorv1.StatementOfInterest{Version: v}}}
	}
	decl := func(name string, v int64, intent candorv1.Intent) *candorv1.LogEntry {
		return &candorv1.LogEntry{Kind: candorv1.EntryKind_ENTRY_KIND_DECLARATION, Subject: call, Actor: alice,
			Payload: &candorv1.LogEntry_Declaration{Declaration: &candorv1.Declaration{Name: name, Participant: alice, SoiVersion: v, Intent: intent}}}
	}
	ballot := func(on, actor string) *candorv1.LogEntry {
		return &candorv1.LogEntry{Kind: candorv1.EntryKind_ENTRY_KIND_BALLOT, Subject: call, Actor: actor,
			Payload: &candorv1.LogEntry_Ballot{Ballot: &candorv1.Ballot{Participant: alice, Declaration: on}}}
	}
	closed := &candorv1.LogEntry{Kind: candorv1.EntryKind_ENTRY_KIND_CALL_CLOSED, Subject: call,
		Payload: &candorv1.LogEntry_Call{Call: &candorv1.Call{Name: call}}}
	participate, recuse := candorv1.Intent_INTENT_PARTICIPATE, candorv1.Intent_INTENT_RECUSE
	tests := []struct {
		name    string
		entries []*candorv1.LogEntry
		want    string // in the error; "" for none
	}{
		{"declared then voted", []*candorv1.LogEntry{soi(1), opened, decl("d1", 1, participate), ballot("d1", alice)}, ""},
		{"no declaration", []*candorv1.LogEntry{soi(1), opened, ballot("d1", alice)}, "no declaration"},
		{"superseded declaration", []*candorv1.LogEntry{soi(1), opened, decl("d1", 1, participate), decl("d2", 1, participate), ballot("d1", alice)}, "current declaration is d2"},
		{"recused", []*candorv1.LogEntry{soi(1), opened, decl("d1", 1, recuse), ballot("d1", alice)}, "INTENT_RECUSE"},
		{"stale", []*candorv1.LogEntry{soi(1), opened, decl("d1", 1, participate), soi(2), ballot("d1", alice)}, "stale"},
		{"someone else's ballot", []*candorv1.LogEntry{soi(1), opened, decl("d1", 1, participate), ballot("d1", "participants/m")}, "cast by"},
		{"after close", []*candorv1.LogEntry{soi(1), opened, decl("d1", 1, participate), closed, ballot("d1", alice)}, "after it closed"},
		{"declaration before opening", []*candorv1.LogEntry{soi(1), decl("d1", 1, participate)}, "never opened"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newInvariant()
			var err error
			for i, e := range tt.entries {
				b, merr := proto.Marshal(e)
				if merr != nil {
					t.Fatal(merr)
				}
				if err = v.apply(int64(i), b); err != nil {
					break
				}
			}
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one about %q", err, tt.want)
			}
		})
	}
}
