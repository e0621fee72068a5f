package translog

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// File names inside the key directory given to [LoadOrCreateKey].
const (
	keyFile = "log.key" // note signer key: secret, 0600
	pubFile = "log.pub" // note verifier key: public, 0644, what auditors pin
)

// Signer signs checkpoints with the log's Ed25519 key as C2SP signed notes.
// Its key name is the log's origin. A Signer is immutable and safe for
// concurrent use.
//
// A Signer does not remember what it signed; the caller must never sign two
// inconsistent checkpoints (see the package documentation).
type Signer struct {
	signer note.Signer
	vkey   string // note verifier key text for signer, as written to log.pub
}

// Origin returns the log's origin, which is also the key's name.
func (s *Signer) Origin() string { return s.signer.Name() }

// VerifierKey returns the note verifier key text ("<origin>+<hash>+<key>")
// that verifies this signer's notes. It is what log.pub holds and what
// auditors and participants pin.
func (s *Signer) VerifierKey() string { return s.vkey }

// Sign returns the signed note for c: the checkpoint body, a blank line and
// one signature line. c.Origin must equal s.Origin() and c must be a
// possible checkpoint (size ≥ 0, and the empty root for size 0).
func (s *Signer) Sign(c Checkpoint) ([]byte, error) {
	if c.Origin != s.Origin() {
		return nil, fmt.Errorf("%w: checkpoint origin %.64q, key %q", ErrOriginMismatch, c.Origin, s.Origin())
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	signed, err := note.Sign(&note.Note{Text: string(c.Marshal())}, s.signer)
	if err != nil {
		return nil, fmt.Errorf("translog: signing checkpoint: %w", err)
	}
	return signed, nil
}

// newSigner builds a Signer from note signer key text
// ("PRIVATE+KEY+<name>+<hash>+<key>").
func newSigner(skey string) (*Signer, error) {
	ns, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	// note.Signer cannot give back its public key, and log.pub must be
	// derivable from log.key alone, so derive the verifier key from the
	// seed. note.NewSigner has already checked the layout, that the
	// algorithm byte is Ed25519 and that the key hash matches. SplitN because
	// the base64 key may itself contain '+'.
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return nil, fmt.Errorf("%w: signer key has %d fields, want 5", ErrBadKey, len(parts))
	}
	key, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(key) != 1+ed25519.SeedSize {
		return nil, fmt.Errorf("%w: signer key is not an Ed25519 seed", ErrBadKey)
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(ns.Name(), pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	s := &Signer{signer: ns, vkey: vkey}

	// Publishing a verifier key that does not verify our notes would make
	// every receipt worthless, so prove the pair works before anyone uses it.
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("%w: derived verifier key: %w", ErrBadKey, err)
	}
	probe, err := note.Sign(&note.Note{Text: "candor translog key self-test\n"}, ns)
	if err != nil {
		return nil, fmt.Errorf("%w: self-test signature: %w", ErrBadKey, err)
	}
	if _, err := note.Open(probe, note.VerifierList(v)); err != nil {
		return nil, fmt.Errorf("%w: derived verifier key does not verify the signer: %w", ErrBadKey, err)
	}
	return s, nil
}

// LoadOrCreateKey loads the log key from dir/log.key, first creating it
// (mode 0600) with a freshly generated Ed25519 note key named origin if it
// does not exist, and then (re)writes dir/log.pub (mode 0644) with the
// verifier key text and a trailing newline. dir must exist. A key whose name
// differs from origin is an error wrapping [ErrOriginMismatch]: the origin
// is part of every signed checkpoint, so a renamed log needs a new key, not
// a silently reused one.
func LoadOrCreateKey(dir, origin string) (*Signer, error) {
	if !validOrigin(origin) {
		return nil, fmt.Errorf("%w: origin %.64q is not a valid note key name", ErrBadKey, origin)
	}
	keyPath := filepath.Join(dir, keyFile)
	skey, err := os.ReadFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		skey, err = createKey(dir, keyPath, origin)
	}
	if err != nil {
		return nil, fmt.Errorf("translog: loading log key: %w", err)
	}
	s, err := newSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, keyPath)
	}
	if s.Origin() != origin {
		return nil, fmt.Errorf("%w: %s is the key of %q, want %q", ErrOriginMismatch, keyPath, s.Origin(), origin)
	}
	if err := writePub(dir, s.vkey+"\n"); err != nil {
		return nil, fmt.Errorf("translog: writing %s: %w", pubFile, err)
	}
	return s, nil
}

// KeyOrigin returns the origin (the key name) of the log key in dir, so a server restarted without
// its --origin flag keeps the name its checkpoints already carry. A missing key is fs.ErrNotExist.
func KeyOrigin(dir string) (string, error) {
	skey, err := os.ReadFile(filepath.Join(dir, keyFile))
	if err != nil {
		return "", err
	}
	ns, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return "", fmt.Errorf("%w: %w (in %s)", ErrBadKey, err, filepath.Join(dir, keyFile))
	}
	return ns.Name(), nil
}

// createKey generates a key and installs it at keyPath unless another
// process got there first, returning the key text that is now at keyPath.
func createKey(dir, keyPath, origin string) ([]byte, error) {
	skey, _, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return nil, err
	}
	text := []byte(skey + "\n")
	// Write a complete, synced file under a temporary name and hard-link it
	// into place. A crash cannot leave a half-written key, and unlike a
	// rename, a link never replaces a key that another process created in
	// the meantime: losing the key that signed earlier checkpoints would
	// orphan every receipt already handed out.
	tmp, err := writeTemp(dir, ".log.key.*", text, 0o600)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, keyPath); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return os.ReadFile(keyPath)
		}
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return text, nil
}

// writePub atomically replaces dir/log.pub. It is rewritten on every load so
// it always matches log.key, even if someone edited or removed it.
func writePub(dir, text string) error {
	tmp, err := writeTemp(dir, ".log.pub.*", []byte(text), 0o644)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, pubFile)); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// writeTemp writes data to a new synced file in dir with the given mode and
// returns its name. The mode is set with Chmod, not at creation, so the
// process umask cannot change it.
func writeTemp(dir, pattern string, data []byte, mode fs.FileMode) (name string, err error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// syncDir makes a new or renamed directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// OpenCheckpoint verifies a signed note against a verifier key (note
// verifier key text as in log.pub; surrounding whitespace is ignored) and
// parses its text as a checkpoint, whose origin must equal the key's name.
// Signatures by other keys, such as witness cosignatures, are ignored; a
// signature line that claims to be by this key but does not verify is an
// error.
func OpenCheckpoint(signed []byte, verifierKey string) (Checkpoint, error) {
	v, err := note.NewVerifier(strings.TrimSpace(verifierKey))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: verifier key: %w", ErrBadKey, err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrUnverifiedCheckpoint, err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	// The key name binds the signature to one log; without this check a
	// key could vouch for checkpoints of a log it does not run.
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint origin %q, key %q", ErrOriginMismatch, c.Origin, v.Name())
	}
	return c, nil
}
