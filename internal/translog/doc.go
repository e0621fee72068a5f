// Package translog is the cryptographic half of Candor's tamper-evident log:
// the checkpoint and receipt text formats, the log's signing key, and the
// checks of RFC 6962 inclusion and consistency proofs.
//
// The store keeps the entries and the hashes that golang.org/x/mod/sumdb/tlog
// asks it to keep, and calls [Signer.Sign] on a [Checkpoint] once they are
// committed. Each accepted write returns a [Proof], a C2SP tlog-proof receipt
// that carries the entry bytes, its inclusion proof and the signed checkpoint,
// so a participant can later show that the entry is on record with nothing
// but the log's public key ([VerifyProof]). An offline auditor opens a
// checkpoint with [OpenCheckpoint] against a pinned key, rebuilds its root
// from every entry with a [RootBuilder], and checks with [VerifyConsistency]
// that the log only grew since the checkpoint it kept last.
//
// Everything here works on bytes alone and needs no server, because the point
// of the log is that nobody has to trust the server.
//
// What this package must never do:
//
//   - Import grpc, bbolt, or any other Candor package. It is the part of
//     Candor an outside auditor has to read and may want to reuse, so it
//     depends only on the standard library, golang.org/x/mod/sumdb/tlog and
//     note, and github.com/transparency-dev/merkle.
//   - Compute tree hashes, proofs or signatures itself. Tree math is tlog's
//     (and transparency-dev's compact ranges where a streaming root is
//     needed); signatures are note's. immudb's two 2022 CVEs came from a
//     home-made "linear" proof accepted by a home-made verifier.
//   - Decide what to sign. [Signer.Sign] signs any well-formed checkpoint of
//     its origin. The caller must sign only a checkpoint consistent with every
//     checkpoint it signed before: two inconsistent signed checkpoints prove
//     the log forked, and are exactly what auditors look for.
//   - Accept a near miss. The parsers admit one canonical text per value
//     (no leading zeros, canonical base64, exact line layout), so a checkpoint
//     or receipt cannot be re-encoded into a second valid form.
package translog
