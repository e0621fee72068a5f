// Package crashtest holds Candor's fault tests and the ledger they audit a server against.
//
// TestCrash (make crash-test) builds candord, then cycles: start it on a fixed data folder, write
// under concurrent load while keeping every acknowledged receipt, SIGKILL it at a random instant,
// restart it, and check with a [Ledger] that no acknowledged write was lost or changed, that the
// tree still extends every checkpoint the server handed out, that no ballot lacks its declaration,
// and that the server takes new writes. TestDiskFull fills the data volume (a small tmpfs when the
// test may mount one, else the daemon's cap on the bbolt file) and checks that writes fail with a
// clear status, reads and audits keep working, nothing stored is damaged, and writes resume when
// space returns.
//
// A [Ledger] trusts nothing the server says beyond the log's pinned verifier key: receipts are
// checked when they arrive, the log is re-read whole and its root rebuilt after every fault.
// This package must never change a server's data folder behind its back, except to fill its volume.
package crashtest
