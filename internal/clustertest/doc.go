// Package clustertest holds Candor's fault test for replicas on an etcd-backed store.
//
// TestClusterFaults (make cluster-test) runs a three-member etcd cluster (internal/etcdtest, each
// member a process) and two candord replicas on 127.0.0.1, sets up a body, and drives declarations,
// ballots, SOI updates and call openings through both replicas from concurrent clients. Every
// write carries a request id (AIP-155) and is retried with that id, on either replica, until it is
// acknowledged, within a bound. Under that load it injects, in turn: SIGKILL of the etcd leader
// (restarted afterwards), SIGKILL of the replica that sequences the log (restarted afterwards), and
// SIGSTOP of the etcd leader for three election timeouts (then SIGCONT). After each fault it checks
// that:
//
//   - every acknowledged write's receipt verified on arrival, and each replica's log still holds it
//     at its index, rebuilds the root of every checkpoint handed out, and proves its newest tree
//     consistent with each of them (a crashtest.Ledger, against both replicas);
//   - `candor audit verify`, run as a separate process against each replica, passes;
//   - no write was applied twice: every entry by a participant is the acknowledged answer to
//     exactly one request id, and each request id produced exactly one entry;
//   - writes resumed: the longest pause between consecutive acknowledgements around the fault is
//     under 5 s.
//
// The test waits only by bounded polls. Its servers, etcd members and data live under
// t.TempDir(); it never talks to anything it did not start. This package holds no code that a
// server or client links: it must never be imported.
package clustertest
