package translog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/mod/sumdb/tlog"
)

// receiptFixture is a 7-entry log with a signed checkpoint and a receipt
// for entry 5.
type receiptFixture struct {
	tree   *memTree
	cp     Checkpoint
	signed []byte
	proof  Proof
}

func newReceiptFixture(t *testing.T) receiptFixture {
	t.Helper()
	tree := newMemTree(t, 7)
	cp := tree.checkpoint(t, 7)
	signed, err := mustSigner(t, testSignerKey).Sign(cp)
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := tlog.ProveRecord(7, 5, tree)
	if err != nil {
		t.Fatal(err)
	}
	return receiptFixture{tree, cp, signed, Proof{Index: 5, Entry: tree.leaves[5], Hashes: hashes, Checkpoint: signed}}
}

func TestProofMarshal(t *testing.T) {
	f := newReceiptFixture(t)
	var want strings.Builder
	want.WriteString("c2sp.org/tlog-proof@v1\n")
	want.WriteString("extra " + base64.StdEncoding.EncodeToString(f.tree.leaves[5]) + "\n")
	want.WriteString("index 5\n")
	for _, h := range f.proof.Hashes {
		want.WriteString(b64(h) + "\n")
	}
	want.WriteString("\n")
	want.Write(f.signed)
	if got := string(f.proof.Marshal()); got != want.String() {
		t.Errorf("Marshal() =\n%s\nwant\n%s", got, want.String())
	}
	if len(f.proof.Hashes) != 3 {
		t.Errorf("entry 5 of 7 has %d proof hashes, want 3 (the golden text above would be too weak)", len(f.proof.Hashes))
	}

	noEntry := Proof{Index: 0, Checkpoint: f.signed}
	if got, want := string(noEntry.Marshal()), "c2sp.org/tlog-proof@v1\nindex 0\n\n"+string(f.signed); got != want {
		t.Errorf("Marshal() without entry or hashes = %q, want %q", got, want)
	}
}

func TestParseProof(t *testing.T) {
	f := newReceiptFixture(t)
	text := f.proof.Marshal()
	got, err := ParseProof(text)
	if err != nil {
		t.Fatalf("ParseProof(Marshal()): %v", err)
	}
	if diff := cmp.Diff(f.proof, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("ParseProof(Marshal()) mismatch (-want +got):\n%s", diff)
	}

	h := b64(f.proof.Hashes[0])
	rest := string(text[strings.Index(string(text), "index 5\n"):])
	tooMany := "c2sp.org/tlog-proof@v1\nindex 5\n" + strings.Repeat(h+"\n", maxProofHashes+1) + "\n" + string(f.signed)
	invalid := []struct {
		name string
		text string
	}{
		{"empty", ""},
		{"wrong header", "c2sp.org/tlog-proof@v2\n" + rest},
		{"header only", "c2sp.org/tlog-proof@v1\n"},
		{"CRLF header", "c2sp.org/tlog-proof@v1\r\n" + rest},
		{"empty extra", "c2sp.org/tlog-proof@v1\nextra \n" + rest},
		{"extra not base64", "c2sp.org/tlog-proof@v1\nextra !!\n" + rest},
		{"extra unpadded", "c2sp.org/tlog-proof@v1\nextra YQ\n" + rest},
		{"extra non-canonical", "c2sp.org/tlog-proof@v1\nextra YR==\n" + rest},
		{"extra after index", "c2sp.org/tlog-proof@v1\nindex 5\nextra YQ==\n" + h + "\n\n" + string(f.signed)},
		{"two extra lines", "c2sp.org/tlog-proof@v1\nextra YQ==\nextra YQ==\n" + rest},
		{"missing index", "c2sp.org/tlog-proof@v1\n" + h + "\n\n" + string(f.signed)},
		{"index leading zero", "c2sp.org/tlog-proof@v1\nindex 05\n\n" + string(f.signed)},
		{"index negative", "c2sp.org/tlog-proof@v1\nindex -1\n\n" + string(f.signed)},
		{"index overflows", "c2sp.org/tlog-proof@v1\nindex 9223372036854775808\n\n" + string(f.signed)},
		{"index with two spaces", "c2sp.org/tlog-proof@v1\nindex  5\n\n" + string(f.signed)},
		{"short hash", "c2sp.org/tlog-proof@v1\nindex 5\n" + base64.StdEncoding.EncodeToString(make([]byte, 31)) + "\n\n" + string(f.signed)},
		{"hash with trailing space", "c2sp.org/tlog-proof@v1\nindex 5\n" + h + " \n\n" + string(f.signed)},
		{"too many hashes", tooMany},
		{"no blank line", "c2sp.org/tlog-proof@v1\nindex 5\n" + h + "\n"},
		{"no checkpoint", "c2sp.org/tlog-proof@v1\nindex 5\n" + h + "\n\n"},
		{"unsigned checkpoint", "c2sp.org/tlog-proof@v1\nindex 5\n\n" + string(f.cp.Marshal())},
		{"signed note that is not a checkpoint", "c2sp.org/tlog-proof@v1\nindex 5\n\nhello\n\n— candor.test/log AAAAAAAA\n"},
		{"checkpoint without final newline", strings.TrimSuffix(string(text), "\n")},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProof([]byte(tc.text))
			if !errors.Is(err, ErrMalformedProof) {
				t.Errorf("ParseProof(%q) = %+v, %v; want error %v", tc.text, got, err, ErrMalformedProof)
			}
		})
	}
	// tooMany must fail for its count, not because 64 hashes are otherwise
	// unparseable.
	if _, err := ParseProof([]byte(strings.Replace(tooMany, h+"\n", "", 1))); err != nil {
		t.Errorf("ParseProof with %d hashes: %v, want nil", maxProofHashes, err)
	}
}

func TestVerifyProof(t *testing.T) {
	f := newReceiptFixture(t)
	cp, err := VerifyProof(f.proof, testVerifier)
	if err != nil {
		t.Fatalf("VerifyProof: %v", err)
	}
	if diff := cmp.Diff(f.cp, cp); diff != "" {
		t.Errorf("VerifyProof checkpoint mismatch (-want +got):\n%s", diff)
	}

	byOther, err := mustSigner(t, otherSigner).Sign(f.cp)
	if err != nil {
		t.Fatal(err)
	}
	with := func(edit func(p *Proof)) Proof {
		p := f.proof
		p.Hashes = append([]tlog.Hash(nil), p.Hashes...)
		edit(&p)
		return p
	}
	tests := []struct {
		name string
		p    Proof
		vkey string
		want error
	}{
		{"other entry bytes", with(func(p *Proof) { p.Entry = f.tree.leaves[4] }), testVerifier, ErrProofFailed},
		{"entry with extra byte", with(func(p *Proof) { p.Entry = append(bytes.Clone(p.Entry), '!') }), testVerifier, ErrProofFailed},
		{"no entry", with(func(p *Proof) { p.Entry = nil }), testVerifier, ErrProofFailed},
		{"other index", with(func(p *Proof) { p.Index = 4 }), testVerifier, ErrProofFailed},
		{"index past the tree", with(func(p *Proof) { p.Index = 7 }), testVerifier, ErrProofFailed},
		{"flipped proof hash", with(func(p *Proof) { p.Hashes[1] = flipHash(p.Hashes[1]) }), testVerifier, ErrProofFailed},
		{"checkpoint by another key", with(func(p *Proof) { p.Checkpoint = byOther }), testVerifier, ErrUnverifiedCheckpoint},
		{"checkpoint with edited size", with(func(p *Proof) { p.Checkpoint = bytes.Replace(p.Checkpoint, []byte("\n7\n"), []byte("\n8\n"), 1) }), testVerifier, ErrUnverifiedCheckpoint},
		{"wrong verifier key", f.proof, otherVerifier, ErrUnverifiedCheckpoint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := VerifyProof(tc.p, tc.vkey)
			if !errors.Is(err, tc.want) {
				t.Errorf("VerifyProof = %+v, %v; want error %v", got, err, tc.want)
			}
		})
	}
}
