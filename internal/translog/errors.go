package translog

import "errors"

// Sentinel errors. Functions wrap them with %w and add detail, so callers use
// [errors.Is]: an auditor must be able to tell "this proof is wrong" (evidence
// against the log) from "this file is garbage" or "this key is unusable".
var (
	// ErrMalformedCheckpoint reports checkpoint text that is not in the one
	// canonical C2SP tlog-checkpoint form this package accepts, or a
	// checkpoint value that cannot exist (negative size, size 0 with a root
	// other than the empty tree's).
	ErrMalformedCheckpoint = errors.New("translog: malformed checkpoint")

	// ErrMalformedProof reports receipt text that is not a canonical C2SP
	// tlog-proof, or a proof hash that is not 32 bytes.
	ErrMalformedProof = errors.New("translog: malformed proof")

	// ErrUnverifiedCheckpoint reports a signed note that does not carry a
	// valid signature by the expected key: forged, edited, signed by another
	// key, or not a signed note at all.
	ErrUnverifiedCheckpoint = errors.New("translog: checkpoint not signed by the log key")

	// ErrOriginMismatch reports a checkpoint or key that belongs to a
	// different log than the one asked about.
	ErrOriginMismatch = errors.New("translog: origin mismatch")

	// ErrProofFailed reports an inclusion or consistency proof that does not
	// verify. With a correctly signed checkpoint, this is evidence that the
	// entry is not in the log or that the log was rewritten.
	ErrProofFailed = errors.New("translog: proof does not verify")

	// ErrBadKey reports a log key or verifier key that cannot be parsed or
	// used.
	ErrBadKey = errors.New("translog: bad key")
)
