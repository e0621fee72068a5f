package translog

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"
)

// emptyRoot is the root hash of the tree with no entries, which RFC 6962
// (section 2.1) defines as the SHA-256 of the empty string. It is a constant
// of the format, not tree math; tests check it against tlog.TreeHash(0, ...)
// and transparency-dev's EmptyRoot.
var emptyRoot = tlog.Hash(sha256.Sum256(nil))

// Checkpoint is the body of a C2SP tlog-checkpoint
// (https://c2sp.org/tlog-checkpoint): the origin line naming the log, the
// decimal tree size, and the base64 root hash of the tree of that size, each
// ending in a newline.
//
// No extension lines are produced; [ParseCheckpoint] accepts and ignores
// them, so a checkpoint read from a note may not re-marshal to the note's
// full text.
type Checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
}

// Marshal returns the checkpoint body text. It does not validate c: a
// checkpoint is only trusted once signed, and [Signer.Sign] validates.
func (c Checkpoint) Marshal() []byte {
	b := make([]byte, 0, len(c.Origin)+1+20+1+base64.StdEncoding.EncodedLen(tlog.HashSize)+1)
	b = append(b, c.Origin...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, c.Size, 10)
	b = append(b, '\n')
	b = base64.StdEncoding.AppendEncode(b, c.Hash[:])
	b = append(b, '\n')
	return b
}

// check reports whether c is a checkpoint that could describe a real log.
func (c Checkpoint) check() error {
	if !validOrigin(c.Origin) {
		return fmt.Errorf("%w: origin %.64q is not a valid note key name", ErrMalformedCheckpoint, c.Origin)
	}
	if c.Size < 0 {
		return fmt.Errorf("%w: negative tree size %d", ErrMalformedCheckpoint, c.Size)
	}
	// Every empty tree has the same root; a size-0 checkpoint naming another
	// root is a lie that no proof would ever expose, so refuse it up front.
	if c.Size == 0 && c.Hash != emptyRoot {
		return fmt.Errorf("%w: tree size 0 with a root other than the empty tree's", ErrMalformedCheckpoint)
	}
	return nil
}

// ParseCheckpoint parses checkpoint body text, such as the text of a signed
// note. It is strict so that each checkpoint has exactly one text form: the
// origin must be a valid note key name (non-empty UTF-8 without spaces,
// control characters or '+'), the size a decimal without sign or leading
// zeros (except "0"), the hash the canonical padded standard base64 of 32
// bytes, and the text must end in a newline. Extension lines after the third
// must be non-empty and are ignored.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	s := string(text)
	body, ok := strings.CutSuffix(s, "\n")
	if !ok {
		return Checkpoint{}, fmt.Errorf("%w: text does not end in a newline", ErrMalformedCheckpoint)
	}
	lines := strings.Split(body, "\n")
	if len(lines) < 3 {
		return Checkpoint{}, fmt.Errorf("%w: %d lines, want at least 3", ErrMalformedCheckpoint, len(lines))
	}
	size, ok := parseDecimal(lines[1])
	if !ok {
		return Checkpoint{}, fmt.Errorf("%w: tree size %.32q is not a canonical decimal", ErrMalformedCheckpoint, lines[1])
	}
	hash, ok := parseHash(lines[2])
	if !ok {
		return Checkpoint{}, fmt.Errorf("%w: root hash %.64q is not 32 bytes of canonical base64", ErrMalformedCheckpoint, lines[2])
	}
	for i, ext := range lines[3:] {
		if ext == "" {
			return Checkpoint{}, fmt.Errorf("%w: extension line %d is empty", ErrMalformedCheckpoint, i+1)
		}
	}
	c := Checkpoint{Origin: lines[0], Size: size, Hash: hash}
	if err := c.check(); err != nil {
		return Checkpoint{}, err
	}
	return c, nil
}

// validOrigin reports whether origin can be a checkpoint's origin line and
// the name of the note key that signs it. note accepts names without Unicode
// spaces or '+'; control characters are refused too because a signed note
// cannot contain them.
func validOrigin(origin string) bool {
	return origin != "" && utf8.ValidString(origin) && !strings.ContainsFunc(origin, func(r rune) bool {
		return r == '+' || unicode.IsSpace(r) || unicode.IsControl(r)
	})
}

// parseDecimal parses a non-negative int64 written in ASCII decimal with no
// sign and no leading zeros, the only form C2SP allows for sizes and indexes.
func parseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// parseHash decodes one hash in padded standard base64. Go's decoder skips
// '\r' and '\n' and (unless Strict) ignores non-zero padding bits, so a
// re-encoding must give back the input for the text to be canonical.
func parseHash(s string) (tlog.Hash, bool) {
	var h tlog.Hash
	if len(s) != base64.StdEncoding.EncodedLen(tlog.HashSize) {
		return h, false
	}
	b, ok := decodeBase64(s)
	if !ok || len(b) != tlog.HashSize {
		return h, false
	}
	copy(h[:], b)
	return h, true
}

// decodeBase64 decodes canonical padded standard base64 (see parseHash).
func decodeBase64(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}
