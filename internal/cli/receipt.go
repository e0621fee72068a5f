package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// receiptFile is the JSON document candor saves for every write the server accepted: the server it came
// from and the receipt as protojson. It lives in <config dir>/receipts/<origin>/<log index>.json, where
// <origin> is the log's origin line made safe for a folder name (see [originFolder]), so that
// receipts from two logs never share a folder.
type receiptFile struct {
	// Addr is the --addr the receipt was received from.
	Addr string `json:"addr"`
	// Origin is the first line of the receipt's checkpoint: the name of the log.
	Origin string `json:"origin,omitempty"`
	// Receipt is a protojson candor.v1.Receipt.
	Receipt json.RawMessage `json:"receipt"`
}

// configDir is where candor keeps its files: --config-dir, else $CANDOR_CONFIG_DIR, else the user's
// config folder plus "candor".
func (a *app) configDir() (string, error) {
	if a.opts.configDir != "" {
		return a.opts.configDir, nil
	}
	base, err := a.userConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the config folder (set %s): %w", envConfigDir, err)
	}
	return filepath.Join(base, "candor"), nil
}

// checkpointOrigin returns the origin line of a signed checkpoint note: its first line, or "" when
// there is none. It does not check the signature; the folder name it gives is only a filing label.
func checkpointOrigin(checkpoint []byte) string {
	line, _, ok := strings.Cut(string(checkpoint), "\n")
	if !ok {
		return ""
	}
	return line
}

// originFolder makes a log's origin into a safe folder name. Letters, digits, '.', '-' and '_' are
// kept; anything else (the '/' of "candor.local/host", spaces, other runes) becomes '_', and then,
// so that two origins that differ only there never share a folder, "-" and 8 hex digits of the
// origin's SHA-256 are added. An origin that is empty or all dots is "unknown-origin" plus the hash.
func originFolder(origin string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, origin)
	if len(safe) > 64 {
		safe = safe[:64]
	}
	if strings.Trim(safe, ".") == "" {
		safe = "unknown-origin"
	} else if safe == origin {
		return safe
	}
	sum := sha256.Sum256([]byte(origin))
	return safe + "-" + hex.EncodeToString(sum[:4])
}

// saveReceipt writes r to receipts/<origin>/<log_index>.json under the config folder and returns the
// path. An existing file is never overwritten: a receipt from a fresh log with the same origin and
// index is kept, and this one gets "<log_index>-2.json" and so on.
func (a *app) saveReceipt(r *candorv1.Receipt) (string, error) {
	dir, err := a.configDir()
	if err != nil {
		return "", err
	}
	origin := checkpointOrigin(r.GetCheckpoint())
	dir = filepath.Join(dir, "receipts", originFolder(origin))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	rj, err := protojson.Marshal(r)
	if err != nil {
		return "", err
	}
	doc, err := json.MarshalIndent(receiptFile{Addr: a.opts.addr, Origin: origin, Receipt: rj}, "", "  ")
	if err != nil {
		return "", err
	}
	doc = append(doc, '\n')
	base := strconv.FormatInt(r.GetLogIndex(), 10)
	for n := 1; n <= 1000; n++ {
		name := base + ".json"
		if n > 1 {
			name = fmt.Sprintf("%s-%d.json", base, n)
		}
		path := filepath.Join(dir, name)
		err := writeNew(path, doc)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return path, nil
	}
	return "", fmt.Errorf("too many receipts for log index %d in %s", r.GetLogIndex(), dir)
}

// writeNew creates path with data, failing with fs.ErrExist if it already exists.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
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
	if err != nil {
		os.Remove(path)
	}
	return err
}

// readReceiptFile reads a receipt saved by candor.
func readReceiptFile(path string) (addr string, r *candorv1.Receipt, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	var doc receiptFile
	if err := json.Unmarshal(b, &doc); err != nil {
		return "", nil, fmt.Errorf("%s is not a candor receipt: %w", path, err)
	}
	if len(doc.Receipt) == 0 {
		return "", nil, fmt.Errorf("%s is not a candor receipt: no \"receipt\" member", path)
	}
	r = &candorv1.Receipt{}
	if err := protojson.Unmarshal(doc.Receipt, r); err != nil {
		return "", nil, fmt.Errorf("%s: bad receipt: %w", path, err)
	}
	return doc.Addr, r, nil
}

// written prints the answer to a write (as JSON, or with table), then saves its receipt and says where.
func (a *app) written(resp proto.Message, r *candorv1.Receipt, table func(w io.Writer) error) error {
	if a.jsonOutput() {
		if err := a.printJSON(resp); err != nil {
			return err
		}
	} else if err := table(a.stdout); err != nil {
		return err
	}
	return a.keepReceipt(r)
}

// keepReceipt saves r and prints "receipt: PATH (log index N)". With -o json the line goes to stderr so
// that stdout stays one JSON document.
func (a *app) keepReceipt(r *candorv1.Receipt) error {
	if r == nil {
		fmt.Fprintln(a.stderr, "candor: warning: the server returned no receipt for this write")
		return nil
	}
	path, err := a.saveReceipt(r)
	if err != nil {
		return &errRecordedNoReceipt{index: r.GetLogIndex(), err: err}
	}
	fmt.Fprintf(a.notices(), "receipt: %s (log index %d)\n", path, r.GetLogIndex())
	return nil
}
