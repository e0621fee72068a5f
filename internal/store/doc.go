// Package store owns Candor's state: the current records (participants, bodies, calls, current
// declarations and ballots), the append-only log of every change, the log's RFC 6962 Merkle hashes
// and the signed checkpoints, all written in one transaction per group of writes.
//
// Writers call [Store.Update] with a closure over a typed [Tx]; concurrent writers share one
// transaction, one sync and one checkpoint signature (group commit). Readers call [Store.View].
//
// The typed transactions are written once, over buckets of sorted byte keys (kv.go). Two backends
// move the bytes:
//   - bbolt ([Open], boltkv.go): one file, the embedded default;
//   - etcd ([OpenEtcd], etcdkv.go and etcd.go): a cluster shared by several candord replicas. One
//     replica, elected through etcd, sequences the log; each batch commits in one etcd transaction
//     that holds only if everything it read is unchanged and its election key still stands.
//
// conformance_test.go runs the same tests against both.
//
// The store knows nothing of gRPC and nothing of Candor's rules: it checks no permission and no
// invariant. The service package does both inside the closures it passes to Update, so that a rule and
// the write it guards see the same snapshot. The store must never update or delete a log entry.
package store
