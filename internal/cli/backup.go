package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/candorhq/candor/internal/durable"
	"github.com/candorhq/candor/internal/offline"
	"github.com/candorhq/candor/internal/translog"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

func newAdminCmd(a *app) *cobra.Command {
	return newGroup("admin", "Operate the server: backups (admin token)",
		newAdminBackupCmd(a),
	)
}

func newAdminBackupCmd(a *app) *cobra.Command {
	var keyFile string
	c := &cobra.Command{
		Use:   "backup FILE --key KEYFILE",
		Short: "Stream a consistent copy of the server's data file while it serves, and verify it",
		Long: `Stream a consistent copy of the server's bbolt file, taken in one read transaction while
writes go on, into FILE.partial (readable by you only), then check it before calling it a backup:

  - its size and SHA-256 are the ones the server sent;
  - every log entry matches its leaf hash, and the entries rebuild the root of every checkpoint in
    the copy, each signed by the key in KEYFILE (the server's log.pub), as 'candord check' does;
  - the newest checkpoint in the copy is the one the server said it holds.

Only then is FILE.partial renamed to FILE. A copy that fails is removed, and candor exits 1 naming
the problem. On a terminal a progress bar on standard error shows the bytes received (not with -o
json). Needs the admin token. The copy never holds log.key or admin.token: keep those apart
from the backups. Restore with 'candord restore --from FILE --data DIR'.`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := readVerifierKey(keyFile)
			if err != nil {
				return err
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			bar := a.newProgress("backing up", unitBytes)
			sum, err := backup(cmd.Context(), cl, args[0], key, bar)
			bar.done()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "backup %s: %d bytes, %d entries, %d checkpoints signed by the log's key, root %s; verified\n",
				args[0], sum.bytes, sum.Entries, sum.Checkpoints, sum.Root)
			return err
		},
	}
	c.Flags().StringVar(&keyFile, "key", "", "the log's verifier key `FILE` (log.pub; required)")
	return c
}

// backupSummary is what a verified backup holds.
type backupSummary struct {
	offline.Summary
	bytes int64
}

// backup streams the server's copy into path+".partial", checks it, and renames it to path. On any
// failure it removes the partial file. p (nil: none) shows the stream's progress.
func backup(ctx context.Context, cl *clients, path, key string, p *progress) (sum backupSummary, err error) {
	partial := path + ".partial"
	if err := os.Remove(partial); err != nil && !errors.Is(err, os.ErrNotExist) {
		return sum, err
	}
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return sum, err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			os.Remove(partial)
		}
	}()
	trailer, err := receiveBackup(ctx, cl, f, p)
	if err != nil {
		return sum, err
	}
	if err := f.Sync(); err != nil {
		return sum, err
	}
	if err := f.Close(); err != nil {
		return sum, err
	}
	f = nil

	checked, err := offline.CheckFile(partial, key)
	if err != nil {
		return sum, &failure{msg: fmt.Sprintf("the backup failed verification, and %s was not written: %v", path, err)}
	}
	if err := matchCheckpoint(trailer.GetCheckpoint(), key, checked); err != nil {
		return sum, &failure{msg: fmt.Sprintf("the backup failed verification, and %s was not written: %v", path, err)}
	}
	if err := os.Rename(partial, path); err != nil {
		return sum, err
	}
	if err := durable.SyncDir(filepath.Dir(path)); err != nil {
		return sum, err
	}
	return backupSummary{Summary: checked, bytes: trailer.GetSizeBytes()}, nil
}

// receiveBackup writes the streamed file to w and checks its size and SHA-256 against the last
// message, which it returns. p (nil: none) shows the bytes received against the size the first
// message announces.
func receiveBackup(ctx context.Context, cl *clients, w io.Writer, p *progress) (*candorv1.StreamBackupResponse, error) {
	stream, err := cl.audit.StreamBackup(ctx, &candorv1.StreamBackupRequest{})
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	var n, total int64
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, &failure{msg: "the server ended the backup stream without its last message (size, SHA-256, checkpoint): the copy is incomplete"}
		}
		if err != nil {
			return nil, err
		}
		if len(resp.Data) == 0 {
			if resp.SizeBytes != n {
				return nil, &failure{msg: fmt.Sprintf("the backup stream carried %d bytes, the server says the copy has %d", n, resp.SizeBytes)}
			}
			if got := h.Sum(nil); !bytes.Equal(got, resp.Sha256) {
				return nil, &failure{msg: fmt.Sprintf("the backup's SHA-256 is %x, the server sent %x: the copy was damaged on the way", got, resp.Sha256)}
			}
			p.update(total, total)
			return resp, nil
		}
		if n == 0 {
			total = resp.SizeBytes // announced by the first message; 0 from a server that does not
		}
		if _, err := w.Write(resp.Data); err != nil {
			return nil, err
		}
		h.Write(resp.Data)
		n += int64(len(resp.Data))
		if total > 0 { // no bar without the size: a server from before it was announced
			p.update(min(n, total), total)
		}
	}
}

// matchCheckpoint checks that the newest checkpoint in the checked copy is the one the server sent.
func matchCheckpoint(signed []byte, key string, sum offline.Summary) error {
	if len(signed) == 0 {
		if sum.Entries != 0 {
			return fmt.Errorf("the server sent no checkpoint, and the copy holds %d entries", sum.Entries)
		}
		return nil
	}
	cp, err := translog.OpenCheckpoint(signed, key)
	if err != nil {
		return fmt.Errorf("the checkpoint the server sent: %w", err)
	}
	if cp.Size != sum.Entries || cp.Hash != sum.Root {
		return fmt.Errorf("the copy's newest checkpoint (%d entries, root %s) is not the one the server sent (%d entries, root %s)", sum.Entries, sum.Root, cp.Size, cp.Hash)
	}
	return nil
}
