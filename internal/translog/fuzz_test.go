package translog

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/mod/sumdb/tlog"
)

// FuzzParseCheckpoint checks that ParseCheckpoint never panics, and that
// whatever it accepts is canonical: re-marshalling gives back the input
// (minus any extension lines) and parses to the same checkpoint.
func FuzzParseCheckpoint(f *testing.F) {
	h := b64(sampleHash)
	for _, seed := range []string{
		"candor.test/log\n0\n" + b64(emptyRoot) + "\n",
		"candor.test/log\n12\n" + h + "\n",
		"candor.test/log\n12\n" + h + "\next\n",
		"o\n9223372036854775807\n" + h + "\n",
		"o\n01\n" + h + "\n",
		"o\n1\n" + h,
		"",
		"\n\n\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		cp, err := ParseCheckpoint(text)
		if err != nil {
			return
		}
		out := cp.Marshal()
		if bytes.Count(text, []byte("\n")) == 3 {
			if !bytes.Equal(out, text) {
				t.Fatalf("ParseCheckpoint(%q) = %+v, which marshals to %q", text, cp, out)
			}
		} else if !bytes.HasPrefix(text, out) {
			t.Fatalf("ParseCheckpoint(%q) = %+v, which marshals to %q, not a prefix of the input", text, cp, out)
		}
		again, err := ParseCheckpoint(out)
		if err != nil {
			t.Fatalf("ParseCheckpoint(Marshal()) of %+v: %v", cp, err)
		}
		if again != cp {
			t.Fatalf("ParseCheckpoint(Marshal(%+v)) = %+v", cp, again)
		}
	})
}

// FuzzParseProof checks that ParseProof never panics and that whatever it
// accepts marshals back to the exact input and parses to the same value.
func FuzzParseProof(f *testing.F) {
	tree := &memTree{}
	for i := range 7 {
		tree.append(f, leafData(i))
	}
	s := mustSigner(f, testSignerKey)
	signed, err := s.Sign(tree.checkpoint(f, 7))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range []Proof{
		{Index: 5, Entry: tree.leaves[5], Hashes: mustProve(f, tree, 5, 7), Checkpoint: signed},
		{Index: 0, Hashes: mustProve(f, tree, 0, 7), Checkpoint: signed},
		{Index: 6, Entry: []byte{0}, Checkpoint: signed},
	} {
		f.Add(p.Marshal())
	}
	f.Add([]byte("c2sp.org/tlog-proof@v1\nindex 0\n\n"))
	f.Add([]byte("c2sp.org/tlog-proof@v1\nextra \nindex 00\n\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		p, err := ParseProof(text)
		if err != nil {
			return
		}
		if out := p.Marshal(); !bytes.Equal(out, text) {
			t.Fatalf("ParseProof(%q) = %+v, which marshals to %q", text, p, out)
		}
		again, err := ParseProof(p.Marshal())
		if err != nil {
			t.Fatalf("ParseProof(Marshal()) of %+v: %v", p, err)
		}
		if diff := cmp.Diff(p, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("ParseProof(Marshal()) mismatch (-first +second):\n%s", diff)
		}
	})
}

// FuzzOpenCheckpoint feeds signed notes to OpenCheckpoint with the fixed
// test key. It must never panic, and anything it accepts must be a
// checkpoint of the key's origin whose body starts the note, and that the
// key would sign again to a note that opens to the same checkpoint.
func FuzzOpenCheckpoint(f *testing.F) {
	s := mustSigner(f, testSignerKey)
	other := mustSigner(f, otherSigner)
	for _, cp := range []Checkpoint{
		{testOrigin, 0, emptyRoot},
		{testOrigin, 5, sampleHash},
		{testOrigin, 1 << 40, urlHash},
	} {
		for _, signer := range []*Signer{s, other} {
			signed, err := signer.Sign(cp)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(signed)
		}
	}
	f.Add([]byte("candor.test/log\n5\n" + b64(sampleHash) + "\n\n— candor.test/log AAAAAAAA\n"))
	f.Fuzz(func(t *testing.T, signed []byte) {
		cp, err := OpenCheckpoint(signed, testVerifier)
		if err != nil {
			return
		}
		if cp.Origin != testOrigin {
			t.Fatalf("OpenCheckpoint(%q) accepted origin %q", signed, cp.Origin)
		}
		if !bytes.HasPrefix(signed, cp.Marshal()) {
			t.Fatalf("OpenCheckpoint(%q) = %+v, whose body does not start the note", signed, cp)
		}
		resigned, err := s.Sign(cp)
		if err != nil {
			t.Fatalf("Sign(%+v) of an accepted checkpoint: %v", cp, err)
		}
		if again, err := OpenCheckpoint(resigned, testVerifier); err != nil || again != cp {
			t.Fatalf("OpenCheckpoint(Sign(%+v)) = %+v, %v", cp, again, err)
		}
	})
}

func mustProve(t testing.TB, tree *memTree, index, n int64) []tlog.Hash {
	t.Helper()
	p, err := tlog.ProveRecord(n, index, tree)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
