// Package store owns Candor's bbolt file: the current state (participants, bodies, calls, current
// declarations and ballots), the append-only log of every change, the log's RFC 6962 Merkle hashes
// and the signed checkpoints, all written in one transaction per group of writes.
//
// Writers call [Store.Update] with a closure over a typed [Tx]; concurrent writers share one bbolt
// transaction, one fsync and one checkpoint signature (group commit). Readers call [Store.View].
//
// The store knows nothing of gRPC and nothing of Candor's rules: it checks no permission and no
// invariant. The service package does both inside the closures it passes to Update, so that a rule and
// the write it guards see the same snapshot. The store must never update or delete a log entry.
package store
