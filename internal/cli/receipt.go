package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// receiptFile is the JSON document candor saves for every write the server accepted: the server it came
// from and the receipt as protojson. It lives in <config dir>/receipts/<log index>.json.
type receiptFile struct {
	// Addr is the --addr the receipt was received from.
	Addr string `json:"addr"`
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

// saveReceipt writes r to receipts/<log_index>.json under the config folder and returns the path. An
// existing file is never overwritten: a receipt from another server (or a fresh one) with the same index
// is kept, and this one gets "<log_index>-2.json" and so on.
func (a *app) saveReceipt(r *candorv1.Receipt) (string, error) {
	dir, err := a.configDir()
	if err != nil {
		return "", err
	}
	dir = filepath.Join(dir, "receipts")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	rj, err := protojson.Marshal(r)
	if err != nil {
		return "", err
	}
	doc, err := json.MarshalIndent(receiptFile{Addr: a.opts.addr, Receipt: rj}, "", "  ")
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
