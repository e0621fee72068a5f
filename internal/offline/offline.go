package offline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/candorhq/candor/internal/daemon"
	"github.com/candorhq/candor/internal/store"
	"github.com/candorhq/candor/internal/translog"
	"github.com/candorhq/candor/internal/verify"
)

// Config says what to check.
type Config struct {
	// DataDir is the stopped server's data folder (candor.db, log.pub).
	DataDir string
	// KeyFile is the log's verifier key; empty means DataDir's log.pub. An auditor who pinned the
	// key elsewhere passes that copy, so a folder whose key was replaced fails.
	KeyFile string
}

// Summary is what a clean check covered.
type Summary struct {
	Origin      string
	Entries     int64
	Checkpoints int
	Root        tlog.Hash
	verify.Counts
}

// String is the one-line summary `candord check` prints.
func (s Summary) String() string {
	return fmt.Sprintf("OK: %s: %d entries match their leaf hashes and rebuild the root of each of %d checkpoints signed by the log's key; the rules replay over every entry (%d ballots, %d positions, %d results recomputed)",
		s.Origin, s.Entries, s.Checkpoints, s.Ballots, s.Positions, s.Results)
}

// Problem is the first problem [Check] found. Index is the log entry it names, or -1.
type Problem struct {
	Index int64
	Err   error
}

func (p *Problem) Error() string { return p.Err.Error() }

func (p *Problem) Unwrap() error { return p.Err }

// Main runs `candord check` on cfg: it prints the summary to stdout and returns 0, or prints the
// first problem to stderr and returns 1.
func Main(cfg Config, stdout, stderr io.Writer) int {
	sum, err := Check(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "candord check: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, sum)
	return 0
}

// errStop ends a scan early; the reason is kept beside it.
var errStop = errors.New("offline: stop")

// Check checks a stopped server's data folder (see the package comment) and returns a [*Problem]
// for the first thing wrong, in the order: the file and key, the stored tree and entries against
// their hashes, the checkpoints' signatures, the entries against each checkpoint's root, the rules.
func Check(cfg Config) (Summary, error) {
	keyFile := cfg.KeyFile
	if keyFile == "" {
		keyFile = filepath.Join(cfg.DataDir, daemon.LogPubFile)
	}
	key, err := ReadKey(keyFile)
	if err != nil {
		return Summary{}, &Problem{Index: -1, Err: err}
	}
	return CheckFile(filepath.Join(cfg.DataDir, daemon.DBFile), key)
}

// CheckFile is [Check] on one bbolt file (a stopped server's candor.db, or a backup) and the log's
// verifier key, as [ReadKey] returns it. A file damaged enough to make bbolt panic is a [*Problem],
// not a crash.
func CheckFile(path, key string) (sum Summary, err error) {
	defer func() {
		if r := recover(); r != nil {
			sum, err = Summary{}, &Problem{Index: -1, Err: fmt.Errorf("the bbolt file is damaged: %v", r)}
		}
	}()
	ro, err := store.OpenReadOnly(path)
	if errors.Is(err, store.ErrInUse) {
		return Summary{}, &Problem{Index: -1, Err: fmt.Errorf("%s is locked by a running candord: stop the server first, or check a copy of the folder (%w)", path, store.ErrInUse)}
	}
	if err != nil {
		return Summary{}, &Problem{Index: -1, Err: err}
	}
	defer ro.Close()
	err = ro.View(func(tx *store.ReadTx) error {
		var err error
		sum, err = check(tx, key)
		return err
	})
	return sum, err
}

// ReadKey reads a signed-note verifier key file (log.pub).
func ReadKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("the log's verifier key: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if _, err := note.NewVerifier(key); err != nil {
		return "", fmt.Errorf("%s does not hold a signed-note verifier key: %w", path, err)
	}
	return key, nil
}

// notary opens checkpoints with a verifier key; it cannot sign.
type notary struct{ key string }

func (n notary) Sign(int64, tlog.Hash) ([]byte, error) {
	return nil, errors.New("offline: the check never signs")
}

func (n notary) Open(signed []byte) (int64, tlog.Hash, error) {
	cp, err := translog.OpenCheckpoint(signed, n.key)
	return cp.Size, cp.Hash, err
}

func check(tx *store.ReadTx, key string) (Summary, error) {
	// 1. What the server checks at start-up.
	latest, err := tx.CheckLog(notary{key})
	if errors.Is(err, translog.ErrUnverifiedCheckpoint) || errors.Is(err, translog.ErrOriginMismatch) {
		return Summary{}, &Problem{Index: -1, Err: fmt.Errorf("the newest checkpoint is not signed by the log's key: %s", strings.ReplaceAll(strings.TrimPrefix(err.Error(), store.ErrLogCorrupt.Error()+": newest checkpoint: "), "translog: ", ""))}
	}
	if err != nil {
		index := int64(-1)
		if ce := (*store.CorruptEntryError)(nil); errors.As(err, &ce) {
			index = ce.Index
		}
		return Summary{}, &Problem{Index: index, Err: fmt.Errorf("the data file does not match its own hashes: %s", strings.TrimPrefix(err.Error(), "store: "))}
	}
	if latest.Size == 0 {
		return Summary{}, nil // an empty log: nothing signed, nothing to check
	}

	// 2. Every stored checkpoint, oldest first, is signed by the key, and its root is the root
	// rebuilt from the entries themselves at its size: so each is a prefix of the next, and all of
	// them of these entries. Checkpoints are read one at a time beside the scan.
	var (
		cp       translog.Checkpoint // the next checkpoint to reach
		prevSize int64               // the size of the one before it
		count    int
		problem  error
	)
	nextCheckpoint := func(after int64) (bool, error) {
		size, signed, ok, err := tx.CheckpointAfter(after)
		if err != nil || !ok {
			return false, err
		}
		c, err := translog.OpenCheckpoint(signed, key)
		if err != nil {
			return false, &Problem{Index: -1, Err: fmt.Errorf("the checkpoint stored for %d entries: %w", size, err)}
		}
		if c.Size != size {
			return false, &Problem{Index: -1, Err: fmt.Errorf("the checkpoint stored for %d entries is signed for %d", size, c.Size)}
		}
		prevSize, cp = cp.Size, c
		count++
		return true, nil
	}
	if _, err := nextCheckpoint(0); err != nil {
		return Summary{}, err
	}
	rb := translog.NewRootBuilder()
	err = tx.ScanEntries(func(_ int64, data []byte) error {
		if err := rb.Append(data); err != nil {
			return err
		}
		if rb.Size() != cp.Size {
			return nil
		}
		root, err := rb.Root()
		if err != nil {
			return err
		}
		if root != cp.Hash {
			problem = locate(tx, cp, prevSize)
			return errStop
		}
		_, err = nextCheckpoint(cp.Size)
		return err
	})
	switch {
	case problem != nil:
		return Summary{}, problem
	case err != nil:
		if p := (*Problem)(nil); errors.As(err, &p) {
			return Summary{}, err
		}
		return Summary{}, &Problem{Index: -1, Err: err}
	case cp.Size != latest.Size || rb.Size() != latest.Size:
		return Summary{}, &Problem{Index: -1, Err: fmt.Errorf("the checkpoint of %d entries was never reached: the log has %d", cp.Size, rb.Size())}
	}

	// 4. The rules, replayed over the authenticated entries.
	replay := verify.NewReplayer()
	if err := tx.ScanEntries(replay.Apply); err != nil {
		index := int64(-1)
		if ee := (*verify.EntryError)(nil); errors.As(err, &ee) {
			index = ee.Index
		}
		return Summary{}, &Problem{Index: index, Err: fmt.Errorf("the rules replayed over the log fail at %s", strings.ReplaceAll(err.Error(), "verify: ", ""))}
	}
	return Summary{Origin: cp.Origin, Entries: rb.Size(), Checkpoints: count, Root: latest.Root, Counts: replay.Summary()}, nil
}

// locate names the first entry after the checkpoint of from entries whose inclusion proof (from
// the stored hashes) does not verify against cp's signed root: its bytes are not the ones the key
// signed, although they match their stored leaf hash (which was rewritten with them).
func locate(tx *store.ReadTx, cp translog.Checkpoint, from int64) error {
	for i := from; i < cp.Size; i++ {
		data, err := tx.Entry(i)
		if err != nil {
			return &Problem{Index: i, Err: err}
		}
		proof, err := tx.InclusionProof(i, cp.Size)
		if err == nil {
			err = translog.VerifyInclusion(i, data, translog.HashesToBytes(proof), cp)
		}
		if err != nil {
			return &Problem{Index: i, Err: fmt.Errorf("log entry %d is not the entry the checkpoint of %d entries signed (its leaf hash was rewritten with it): %w", i, cp.Size, err)}
		}
	}
	return &Problem{Index: -1, Err: fmt.Errorf("the entries do not rebuild the root of the checkpoint of %d entries, and its stored hashes do not match the entries", cp.Size)}
}
