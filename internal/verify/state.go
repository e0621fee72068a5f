package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/candorhq/candor/internal/translog"
)

// state is the file in the state folder that keeps the last checkpoint verified for one log: the
// signed note exactly as the server sent it, so that it is checked again with the pinned key each
// time it is read. One verification at a time may use a state folder.
type state struct {
	dir, path, key string
}

// openState names the state file for the log of verifier key key: the key's name (the log's
// origin, made safe for a file name) and a hash of the whole key, so that two logs, or a log whose
// key changed, never share a file.
func openState(dir, key string) *state {
	key = strings.TrimSpace(key)
	name, _, _ := strings.Cut(key, "+")
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, name)
	if len(safe) > 64 {
		safe = safe[:64]
	}
	sum := sha256.Sum256([]byte(key))
	file := fmt.Sprintf("%s-%s.checkpoint", safe, hex.EncodeToString(sum[:8]))
	return &state{dir: dir, path: filepath.Join(dir, file), key: key}
}

// load returns the checkpoint kept, or nil if none was.
func (s *state) load() (*translog.Checkpoint, error) {
	signed, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("verify: reading the last verified checkpoint: %w", err)
	}
	cp, err := translog.OpenCheckpoint(signed, s.key)
	if err != nil {
		return nil, fmt.Errorf("verify: the last verified checkpoint, kept in %s: %w", s.path, err)
	}
	return &cp, nil
}

// save replaces the kept checkpoint with signed, atomically and durably.
func (s *state) save(signed []byte) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("verify: keeping the verified checkpoint in %s: %w", s.dir, err)
		}
	}()
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(s.dir, ".checkpoint-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if _, err := f.Write(signed); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), s.path); err != nil {
		return err
	}
	d, err := os.Open(s.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
