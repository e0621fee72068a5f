package verify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/candorhq/candor/internal/domain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Sentinel errors. Failures wrap them with %w, so callers use [errors.Is]. A rule refused by the
// replay wraps the error of package domain that names the rule (for example
// domain.ErrDeclarationRequired); failures of the log's proofs and signatures wrap the errors of
// package translog.
var (
	// ErrRootMismatch reports entries that are not the ones the signed checkpoint commits to: an
	// entry was edited, reordered or replaced.
	ErrRootMismatch = errors.New("verify: entries do not match the signed checkpoint")

	// ErrMissingEntries reports a server that did not serve every entry of its checkpoint's tree,
	// or served them under the wrong indexes.
	ErrMissingEntries = errors.New("verify: server did not serve every entry of its tree")

	// ErrServerCorrupt reports an entry the server refused to serve because, by its own check, the
	// bytes it stores for it do not match the log's hashes (DataLoss, LOG_CORRUPT): the entry was
	// lost or altered in the server's file.
	ErrServerCorrupt = errors.New("verify: the server reports that its stored entry does not match the log's hashes")

	// ErrEntryChanged reports a server that serves other bytes at a receipt's index than the
	// receipt's entry.
	ErrEntryChanged = errors.New("verify: the server serves other bytes for this entry than the receipt holds")

	// ErrNotConsistent reports a checkpoint that does not extend the one verified before: the log
	// was rolled back or forked.
	ErrNotConsistent = errors.New("verify: log does not extend the checkpoint verified before")

	// ErrNoCheckpoint reports a server that has signed no checkpoint yet (its log is empty).
	ErrNoCheckpoint = errors.New("verify: server has no signed checkpoint")

	// ErrMalformedEntry reports entry bytes that are not a well-formed LogEntry of format 1: they
	// do not decode, the format is unknown, the kind does not match the payload, or a required
	// field is missing.
	ErrMalformedEntry = errors.New("verify: malformed entry")

	// ErrInconsistent reports an entry that contradicts the entries before it: it names a
	// participant, body, call, declaration or SOI version the log does not have (or not in that
	// state), it was made by someone other than its subject, or its time goes backwards.
	ErrInconsistent = errors.New("verify: entry contradicts the log before it")

	// ErrResultMismatch reports a closed call whose recorded result differs from the tally
	// recomputed from the log.
	ErrResultMismatch = errors.New("verify: recorded result differs from the recomputed tally")
)

// EntryError reports the first bad entry of a log.
type EntryError struct {
	Index int64
	// Kind is the entry's kind, or ENTRY_KIND_UNSPECIFIED when its bytes do not decode.
	Kind candorv1.EntryKind
	// Reason names the rule the entry breaks, from the same enum (and by the same function,
	// domain.ReasonOf) as the server's refusal of a request that broke it would: a server that
	// accepted the entry let past what it refuses as this reason. It is ERROR_REASON_UNSPECIFIED
	// when the entry fails a check of the log itself (its encoding, its place, its consistency).
	Reason candorv1.ErrorReason
	Err    error
}

func (e *EntryError) Error() string {
	var rule string
	if e.Reason != candorv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		rule = " [" + domain.Reason(e.Reason) + "]"
	}
	if e.Kind == candorv1.EntryKind_ENTRY_KIND_UNSPECIFIED {
		return fmt.Sprintf("entry %d: %v%s", e.Index, e.Err, rule)
	}
	return fmt.Sprintf("entry %d (%s): %v%s", e.Index, KindName(e.Kind), e.Err, rule)
}

func (e *EntryError) Unwrap() error { return e.Err }

// KindName is the short name of an entry kind, as errors print it: "BALLOT" for
// ENTRY_KIND_BALLOT.
func KindName(k candorv1.EntryKind) string {
	return strings.TrimPrefix(k.String(), "ENTRY_KIND_")
}
