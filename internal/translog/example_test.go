package translog_test

import (
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/candorhq/candor/internal/translog"
	"golang.org/x/mod/sumdb/tlog"
)

// hashStore keeps the hashes tlog asks a log to store. The real store keeps
// them in bbolt next to the entries.
type hashStore []tlog.Hash

func (s hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = s[x]
	}
	return out, nil
}

// A write gets a receipt; the participant who keeps it can later prove,
// with only the log's public key, that their entry is on record.
func ExampleVerifyProof() {
	dir, err := os.MkdirTemp("", "translog-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The log: a key, four entries, a signed checkpoint, a receipt for one.
	signer, err := translog.LoadOrCreateKey(dir, "candor.example/log")
	if err != nil {
		log.Fatal(err)
	}
	var hashes hashStore
	entries := []string{"open call 7", "declaration: ada", "ballot: ada yes", "close call 7"}
	for i, e := range entries {
		stored, err := tlog.StoredHashes(int64(i), []byte(e), hashes)
		if err != nil {
			log.Fatal(err)
		}
		hashes = append(hashes, stored...)
	}
	root, err := tlog.TreeHash(int64(len(entries)), hashes)
	if err != nil {
		log.Fatal(err)
	}
	signed, err := signer.Sign(translog.Checkpoint{Origin: signer.Origin(), Size: int64(len(entries)), Hash: root})
	if err != nil {
		log.Fatal(err)
	}
	const index = 2
	path, err := tlog.ProveRecord(int64(len(entries)), index, hashes)
	if err != nil {
		log.Fatal(err)
	}
	receipt := translog.Proof{Index: index, Entry: []byte(entries[index]), Hashes: path, Checkpoint: signed}.Marshal()

	// The participant: the receipt text and the log's pinned public key
	// (the contents of log.pub) are all it needs.
	pub, err := os.ReadFile(dir + "/log.pub")
	if err != nil {
		log.Fatal(err)
	}
	p, err := translog.ParseProof(receipt)
	if err != nil {
		log.Fatal(err)
	}
	cp, err := translog.VerifyProof(p, string(pub))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("entry %d %q is in %s at tree size %d\n", p.Index, p.Entry, cp.Origin, cp.Size)

	// A receipt edited to claim another vote does not verify.
	p.Entry = []byte("ballot: ada no")
	_, err = translog.VerifyProof(p, string(pub))
	fmt.Println("edited receipt refused:", errors.Is(err, translog.ErrProofFailed))
	// Output:
	// entry 2 "ballot: ada yes" is in candor.example/log at tree size 4
	// edited receipt refused: true
}

// An auditor rebuilds the root from every entry, streaming, and compares it
// with the checkpoint the server signed (which the server computed with tlog
// from its stored hashes).
func ExampleRootBuilder() {
	entries := []string{"open call 7", "declaration: ada", "ballot: ada yes", "close call 7"}

	// The server's side, for the example's sake. An auditor would get cp
	// from translog.OpenCheckpoint and the entries from a log export.
	var hashes hashStore
	for i, e := range entries {
		stored, err := tlog.StoredHashes(int64(i), []byte(e), hashes)
		if err != nil {
			log.Fatal(err)
		}
		hashes = append(hashes, stored...)
	}
	serverRoot, err := tlog.TreeHash(int64(len(entries)), hashes)
	if err != nil {
		log.Fatal(err)
	}
	cp := translog.Checkpoint{Origin: "candor.example/log", Size: int64(len(entries)), Hash: serverRoot}

	b := translog.NewRootBuilder()
	for _, e := range entries {
		if err := b.Append([]byte(e)); err != nil {
			log.Fatal(err)
		}
	}
	root, err := b.Root()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("rebuilt root matches checkpoint:", b.Size() == cp.Size && root == cp.Hash)
	fmt.Printf("%s", cp.Marshal())
	// Output:
	// rebuilt root matches checkpoint: true
	// candor.example/log
	// 4
	// wofTmJoc6LnOOa+RYAPI/XH3uke/htiBFS3I0SB3MZs=
}
