package offline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/candorhq/candor/internal/daemon"
)

// RestoreConfig says what to restore where.
type RestoreConfig struct {
	// From is a backup: a copy of candor.db made by `candor admin backup`.
	From string
	// DataDir is the new data folder. It must not exist, or be empty.
	DataDir string
	// KeyFile is the log's verifier key (log.pub); the backup is checked against it and it is
	// installed as the new folder's log.pub.
	KeyFile string
}

// Restore makes a new data folder (0700) from a backup: it copies the file into DataDir/candor.db
// (0600, fsynced), checks it as [Check] does against KeyFile, and installs KeyFile as log.pub. It
// never writes into a folder that holds anything. A failed check removes what Restore wrote.
//
// The backup holds neither log.key nor admin.token: the operator puts them in place before the
// server starts.
func Restore(cfg RestoreConfig) (Summary, error) {
	if cfg.KeyFile == "" {
		return Summary{}, errors.New("--key is required: the log's verifier key (log.pub), which the backup is checked against")
	}
	key, err := ReadKey(cfg.KeyFile)
	if err != nil {
		return Summary{}, err
	}
	src, err := os.Open(cfg.From)
	if err != nil {
		return Summary{}, fmt.Errorf("the backup: %w", err)
	}
	defer src.Close()

	created, err := newFolder(cfg.DataDir)
	if err != nil {
		return Summary{}, err
	}
	db := filepath.Join(cfg.DataDir, daemon.DBFile)
	pub := filepath.Join(cfg.DataDir, daemon.LogPubFile)
	sum, err := restore(src, db, pub, key)
	if err != nil {
		os.Remove(db)
		os.Remove(pub)
		if created {
			os.Remove(cfg.DataDir)
		}
		return Summary{}, err
	}
	return sum, nil
}

// newFolder makes dir (0700), or accepts an empty one, and reports whether it made it.
func newFolder(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, err
		}
		return true, nil
	case err != nil:
		return false, err
	case len(entries) > 0:
		return false, fmt.Errorf("%s is not empty: restore makes a new data folder and never writes over one; name a new folder", dir)
	}
	return false, os.Chmod(dir, 0o700)
}

func restore(src io.Reader, db, pub, key string) (Summary, error) {
	dst, err := os.OpenFile(db, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Summary{}, err
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Summary{}, fmt.Errorf("copying the backup: %w", err)
	}
	sum, err := CheckFile(db, key)
	if err != nil {
		return Summary{}, fmt.Errorf("the backup failed its check, and nothing was restored: %w", err)
	}
	if err := writeSync(pub, []byte(key+"\n"), 0o644); err != nil {
		return Summary{}, err
	}
	d, err := os.Open(filepath.Dir(db))
	if err != nil {
		return Summary{}, err
	}
	defer d.Close()
	return sum, d.Sync()
}

func writeSync(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// RestoreMain runs `candord restore`: it prints what was restored and what the operator must do
// next to stdout and returns 0, or prints the problem to stderr and returns 1.
func RestoreMain(cfg RestoreConfig, stdout, stderr io.Writer) int {
	sum, err := Restore(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "candord restore: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "restored %s into %s\n%s\n", cfg.From, cfg.DataDir, sum)
	fmt.Fprintf(stdout, `Before starting candord --data %[1]s:
  - copy the log's signing key, log.key, into %[1]s (mode 0600). The backup does not hold it, and a
    server with another key cannot sign on from the restored checkpoints: it refuses to start.
  - copy admin.token into %[1]s (mode 0600), or a new one is made at start and the old one stops working.
`, cfg.DataDir)
	return 0
}
