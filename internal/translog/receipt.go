package translog

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// proofHeader is the first line of a C2SP tlog-proof (https://c2sp.org/tlog-proof).
const proofHeader = "c2sp.org/tlog-proof@v1"

// maxProofHashes bounds the audit path length: a tree of fewer than 2^63
// entries is at most 63 levels high. Longer input is refused before any
// hashing.
const maxProofHashes = 63

// Proof is a receipt: a C2SP tlog-proof (https://c2sp.org/tlog-proof) that
// entry Index is in the tree of a signed checkpoint. Candor puts the entry's
// exact bytes in the spec's "extra" line so that a receipt is
// self-contained. The spec warns that extra data is unauthenticated; here it
// is authenticated by [VerifyProof], which hashes it as the leaf.
//
// The text form is:
//
//	c2sp.org/tlog-proof@v1
//	extra <base64 of Entry>       (omitted when Entry is empty)
//	index <Index>
//	<base64 hash>                 (one line per element of Hashes)
//	<empty line>
//	<Checkpoint, the signed note, verbatim>
type Proof struct {
	Index      int64
	Entry      []byte      // exact stored entry bytes; the leaf is LeafHash(Entry)
	Hashes     []tlog.Hash // inclusion proof, leaf's sibling first (RFC 6962 section 2.1.1)
	Checkpoint []byte      // signed checkpoint note, possibly with cosignatures
}

// Marshal returns the receipt text. It does not validate p; [ParseProof]
// and [VerifyProof] do.
func (p Proof) Marshal() []byte {
	b := make([]byte, 0, 64+base64.StdEncoding.EncodedLen(len(p.Entry))+45*len(p.Hashes)+len(p.Checkpoint))
	b = append(b, proofHeader+"\n"...)
	if len(p.Entry) > 0 {
		b = append(b, "extra "...)
		b = base64.StdEncoding.AppendEncode(b, p.Entry)
		b = append(b, '\n')
	}
	b = append(b, "index "...)
	b = strconv.AppendInt(b, p.Index, 10)
	b = append(b, '\n')
	for _, h := range p.Hashes {
		b = base64.StdEncoding.AppendEncode(b, h[:])
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, p.Checkpoint...)
	return b
}

// ParseProof parses receipt text. Like [ParseCheckpoint] it accepts only the
// canonical form, so Marshal gives back the exact input. An "extra" line must
// carry non-empty canonical base64. The checkpoint must be a well-formed
// signed note whose text is a checkpoint; its signature is not checked here
// (that needs the log's key; see [VerifyProof]).
func ParseProof(text []byte) (Proof, error) {
	var p Proof
	rest := string(text)
	line, rest, ok := strings.Cut(rest, "\n")
	if !ok || line != proofHeader {
		return Proof{}, fmt.Errorf("%w: first line is not %q", ErrMalformedProof, proofHeader)
	}
	line, rest, _ = strings.Cut(rest, "\n")
	if extra, ok := strings.CutPrefix(line, "extra "); ok {
		entry, ok := decodeBase64(extra)
		if !ok || len(entry) == 0 {
			return Proof{}, fmt.Errorf("%w: extra line is not non-empty canonical base64", ErrMalformedProof)
		}
		p.Entry = entry
		line, rest, _ = strings.Cut(rest, "\n")
	}
	index, ok := strings.CutPrefix(line, "index ")
	if !ok {
		return Proof{}, fmt.Errorf("%w: missing index line", ErrMalformedProof)
	}
	if p.Index, ok = parseDecimal(index); !ok {
		return Proof{}, fmt.Errorf("%w: index %.32q is not a canonical decimal", ErrMalformedProof, index)
	}
	for {
		line, rest, ok = strings.Cut(rest, "\n")
		if !ok {
			return Proof{}, fmt.Errorf("%w: missing empty line before the checkpoint", ErrMalformedProof)
		}
		if line == "" {
			break
		}
		if len(p.Hashes) == maxProofHashes {
			return Proof{}, fmt.Errorf("%w: more than %d proof hashes", ErrMalformedProof, maxProofHashes)
		}
		h, ok := parseHash(line)
		if !ok {
			return Proof{}, fmt.Errorf("%w: proof hash %d is not 32 bytes of canonical base64", ErrMalformedProof, len(p.Hashes))
		}
		p.Hashes = append(p.Hashes, h)
	}
	if err := checkSignedCheckpoint([]byte(rest)); err != nil {
		return Proof{}, err
	}
	p.Checkpoint = []byte(rest)
	return p, nil
}

// checkSignedCheckpoint checks that signed is a well-formed signed note
// carrying a checkpoint, without any key: note.Open with no known keys
// fails with UnverifiedNoteError exactly when the note parses.
func checkSignedCheckpoint(signed []byte) error {
	_, err := note.Open(signed, nil)
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return fmt.Errorf("%w: checkpoint is not a signed note: %v", ErrMalformedProof, err)
	}
	if _, err := ParseCheckpoint([]byte(unverified.Note.Text)); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedProof, err)
	}
	return nil
}

// VerifyProof verifies a receipt against the log's verifier key (as in
// log.pub): the checkpoint must be signed by that key, and the proof must
// show that p.Entry is entry p.Index of that checkpoint's tree. It returns
// the verified checkpoint, which the caller can keep to check later
// checkpoints with [VerifyConsistency].
func VerifyProof(p Proof, verifierKey string) (Checkpoint, error) {
	cp, err := OpenCheckpoint(p.Checkpoint, verifierKey)
	if err != nil {
		return Checkpoint{}, err
	}
	if err := checkInclusion(p.Index, LeafHash(p.Entry), p.Hashes, cp); err != nil {
		return Checkpoint{}, err
	}
	return cp, nil
}
