package translog

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"
)

func TestSignOpenRoundTrip(t *testing.T) {
	s := mustSigner(t, testSignerKey)
	if got := s.VerifierKey(); got != testVerifier {
		t.Fatalf("VerifierKey() = %q, want %q (derived from the signer key)", got, testVerifier)
	}
	if got := s.Origin(); got != testOrigin {
		t.Errorf("Origin() = %q, want %q", got, testOrigin)
	}
	tests := []struct {
		name string
		cp   Checkpoint
	}{
		{"empty tree", Checkpoint{testOrigin, 0, emptyRoot}},
		{"one entry", Checkpoint{testOrigin, 1, LeafHash([]byte("x"))}},
		{"large tree", Checkpoint{testOrigin, 1 << 40, sampleHash}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signed, err := s.Sign(tc.cp)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			// A C2SP signed note: the checkpoint body, a blank line, and
			// one signature line by the log's key.
			body := tc.cp.Marshal()
			if !bytes.HasPrefix(signed, append(body, '\n')) || !bytes.HasPrefix(signed[len(body)+1:], []byte("— "+testOrigin+" ")) {
				t.Errorf("Sign() = %q, want the body %q, a blank line and a signature line", signed, body)
			}
			got, err := OpenCheckpoint(signed, "  "+s.VerifierKey()+"\n") // as read from log.pub
			if err != nil {
				t.Fatalf("OpenCheckpoint: %v", err)
			}
			if diff := cmp.Diff(tc.cp, got); diff != "" {
				t.Errorf("OpenCheckpoint(Sign(cp)) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSignRejects(t *testing.T) {
	s := mustSigner(t, testSignerKey)
	tests := []struct {
		name string
		cp   Checkpoint
		want error
	}{
		{"other origin", Checkpoint{"other.test/log", 1, sampleHash}, ErrOriginMismatch},
		{"negative size", Checkpoint{testOrigin, -1, sampleHash}, ErrMalformedCheckpoint},
		{"size 0 with non-empty root", Checkpoint{testOrigin, 0, sampleHash}, ErrMalformedCheckpoint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signed, err := s.Sign(tc.cp)
			if !errors.Is(err, tc.want) {
				t.Errorf("Sign(%+v) = %q, %v; want error %v", tc.cp, signed, err, tc.want)
			}
		})
	}
}

func TestOpenCheckpointRejects(t *testing.T) {
	s := mustSigner(t, testSignerKey)
	other := mustSigner(t, otherSigner)
	cp := Checkpoint{testOrigin, 5, sampleHash}
	signed, err := s.Sign(cp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(signed, testVerifier); err != nil {
		t.Fatalf("untampered checkpoint: %v", err)
	}
	byOther, err := other.Sign(cp)
	if err != nil {
		t.Fatal(err)
	}
	rawKey, err := note.NewSigner(testSignerKey)
	if err != nil {
		t.Fatal(err)
	}
	// signNote signs any text with the log's key, bypassing Signer's checks.
	signNote := func(text string) []byte {
		b, err := note.Sign(&note.Note{Text: text}, rawKey)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	edit := func(old, new string) []byte {
		if !bytes.Contains(signed, []byte(old)) {
			t.Fatalf("signed note %q does not contain %q", signed, old)
		}
		return bytes.Replace(signed, []byte(old), []byte(new), 1)
	}
	tests := []struct {
		name   string
		signed []byte
		vkey   string
		want   error
	}{
		{"signed by another key of the same name", byOther, testVerifier, ErrUnverifiedCheckpoint},
		{"verified with another key of the same name", signed, otherVerifier, ErrUnverifiedCheckpoint},
		{"edited size", edit("\n5\n", "\n6\n"), testVerifier, ErrUnverifiedCheckpoint},
		{"edited hash", edit(b64(sampleHash), b64(emptyRoot)), testVerifier, ErrUnverifiedCheckpoint},
		{"edited origin line", edit(testOrigin+"\n5", "candor.test/lof\n5"), testVerifier, ErrUnverifiedCheckpoint},
		{"extension line added", edit(b64(sampleHash)+"\n", b64(sampleHash)+"\nextra\n"), testVerifier, ErrUnverifiedCheckpoint},
		{"no signature", cp.Marshal(), testVerifier, ErrUnverifiedCheckpoint},
		{"empty", nil, testVerifier, ErrUnverifiedCheckpoint},
		{"signed text is not a checkpoint", signNote("hello\n"), testVerifier, ErrMalformedCheckpoint},
		{"signed checkpoint of another origin", signNote("other.test/log\n5\n" + b64(sampleHash) + "\n"), testVerifier, ErrOriginMismatch},
		{"signed size 0 with non-empty root", signNote(testOrigin + "\n0\n" + b64(sampleHash) + "\n"), testVerifier, ErrMalformedCheckpoint},
		{"bad verifier key", signed, "candor.test/log+00000000+AAAA", ErrBadKey},
		{"empty verifier key", signed, "", ErrBadKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := OpenCheckpoint(tc.signed, tc.vkey)
			if !errors.Is(err, tc.want) {
				t.Errorf("OpenCheckpoint = %+v, %v; want error %v", got, err, tc.want)
			}
		})
	}
}

// TestOpenCheckpointCosigned checks that signatures by other keys (witness
// cosignatures, in C2SP terms) neither help nor hurt.
func TestOpenCheckpointCosigned(t *testing.T) {
	cp := Checkpoint{testOrigin, 5, sampleHash}
	logKey, err := note.NewSigner(testSignerKey)
	if err != nil {
		t.Fatal(err)
	}
	wkey, _, err := note.GenerateKey(rand.Reader, "witness.test")
	if err != nil {
		t.Fatal(err)
	}
	witness, err := note.NewSigner(wkey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: string(cp.Marshal())}, witness, logKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenCheckpoint(signed, testVerifier)
	if err != nil {
		t.Fatalf("OpenCheckpoint of a cosigned checkpoint: %v", err)
	}
	if diff := cmp.Diff(cp, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	onlyWitness, err := note.Sign(&note.Note{Text: string(cp.Marshal())}, witness)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(onlyWitness, testVerifier); !errors.Is(err, ErrUnverifiedCheckpoint) {
		t.Errorf("OpenCheckpoint of a checkpoint signed only by a witness = %v, want %v", err, ErrUnverifiedCheckpoint)
	}
}

func fileMode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	keyPath, pubPath := filepath.Join(dir, "log.key"), filepath.Join(dir, "log.pub")

	s1, err := LoadOrCreateKey(dir, testOrigin)
	if err != nil {
		t.Fatalf("first LoadOrCreateKey: %v", err)
	}
	if got := s1.Origin(); got != testOrigin {
		t.Errorf("Origin() = %q, want %q", got, testOrigin)
	}
	if got, want := fileMode(t, keyPath), fs.FileMode(0o600); got != want {
		t.Errorf("log.key mode = %v, want %v", got, want)
	}
	if got, want := fileMode(t, pubPath), fs.FileMode(0o644); got != want {
		t.Errorf("log.pub mode = %v, want %v", got, want)
	}
	pub, err := os.ReadFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(pub), s1.VerifierKey()+"\n"; got != want {
		t.Errorf("log.pub = %q, want %q", got, want)
	}
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(key), "PRIVATE+KEY+"+testOrigin+"+") || !strings.HasSuffix(string(key), "\n") {
		t.Errorf("log.key = %q, want a note signer key named %q and a newline", key, testOrigin)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".log.*")); len(leftovers) != 0 {
		t.Errorf("temporary files left in the key directory: %v", leftovers)
	}

	// What log.pub says must verify what the signer signs.
	signed, err := s1.Sign(Checkpoint{testOrigin, 1, sampleHash})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(signed, string(pub)); err != nil {
		t.Errorf("OpenCheckpoint with log.pub: %v", err)
	}

	// Damage log.pub; loading again must keep the key and repair the file.
	if err := os.WriteFile(pubPath, []byte("junk"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(pubPath, 0o666); err != nil {
		t.Fatal(err)
	}
	s2, err := LoadOrCreateKey(dir, testOrigin)
	if err != nil {
		t.Fatalf("second LoadOrCreateKey: %v", err)
	}
	if got, want := s2.VerifierKey(), s1.VerifierKey(); got != want {
		t.Errorf("second load VerifierKey() = %q, want the first load's %q", got, want)
	}
	if pub2, err := os.ReadFile(pubPath); err != nil || string(pub2) != string(pub) {
		t.Errorf("log.pub after reload = %q, %v; want %q", pub2, err, pub)
	}
	if got, want := fileMode(t, pubPath), fs.FileMode(0o644); got != want {
		t.Errorf("log.pub mode after reload = %v, want %v", got, want)
	}
	if key2, err := os.ReadFile(keyPath); err != nil || string(key2) != string(key) {
		t.Errorf("log.key changed on reload")
	}

	// A fresh directory must get a fresh key, or key generation is broken.
	s3, err := LoadOrCreateKey(t.TempDir(), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if s3.VerifierKey() == s1.VerifierKey() {
		t.Errorf("two new directories got the same key %q", s1.VerifierKey())
	}
}

func TestLoadOrCreateKeyRejects(t *testing.T) {
	withKey := func(key string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "log.key"), []byte(key), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	tests := []struct {
		name   string
		dir    string
		origin string
		want   error // nil: any error
	}{
		{"key of another origin", withKey(testSignerKey + "\n"), "other.test/log", ErrOriginMismatch},
		{"garbage key", withKey("not a key\n"), testOrigin, ErrBadKey},
		{"verifier key in log.key", withKey(testVerifier + "\n"), testOrigin, ErrBadKey},
		{"origin with space", t.TempDir(), "candor test", ErrBadKey},
		{"origin with plus", t.TempDir(), "candor+test", ErrBadKey},
		{"empty origin", t.TempDir(), "", ErrBadKey},
		{"missing directory", filepath.Join(t.TempDir(), "absent"), testOrigin, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadOrCreateKey(tc.dir, tc.origin)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("LoadOrCreateKey = %v, %v; want error %v", s, err, tc.want)
			}
			// A refused key must not leave a log.pub that someone could pin.
			if _, err := os.Stat(filepath.Join(tc.dir, "log.pub")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("log.pub exists after a refused load (stat: %v)", err)
			}
		})
	}
}

// TestLoadOrCreateKeyExisting checks that a key written by hand (or by an
// earlier version) is used as is, with surrounding whitespace ignored.
func TestLoadOrCreateKeyExisting(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "log.key"), []byte("\n"+testSignerKey+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadOrCreateKey(dir, testOrigin)
	if err != nil {
		t.Fatalf("LoadOrCreateKey: %v", err)
	}
	if got := s.VerifierKey(); got != testVerifier {
		t.Errorf("VerifierKey() = %q, want %q", got, testVerifier)
	}
}
