// Package offline is `candord check`: it checks a stopped server's data folder without a server,
// as an auditor would check a live one, and names the first problem. [CheckFile] runs the same
// check on one file, which is how `candor admin backup` verifies a backup before keeping it, and
// [Restore] (`candord restore`) makes a new data folder from a backup and checks it the same way.
//
// [Check] opens the bbolt file read-only and runs, in one read transaction: the server's own
// start-up check (the stored tree against the newest checkpoint, every entry against its stored
// leaf hash; package store), then the signature of every stored checkpoint with the folder's
// log.pub (or a key given), the root rebuilt from the entries themselves (package translog's
// RootBuilder) against every checkpoint in turn, so each is a prefix of the next, and last the
// rules, replayed over the entries by package verify's [verify.Replayer], which is what
// `candor audit verify` runs over a server's answers.
//
// What this package must never do:
//
//   - Write to the data folder, or open the file while a server holds it: a running candord holds
//     bbolt's lock, and the check refuses rather than wait or read a file that is changing. Restore
//     writes only into a folder that is absent or empty, and removes what it wrote if the check fails.
//   - Restate a rule, a proof or a hash: it only feeds the store's entries to the functions of
//     packages store, translog and verify, so the offline check and the online one cannot drift.
//   - Hold the log, or its checkpoints, in memory: entries are read with a cursor and handed on,
//     checkpoints one at a time beside them; memory is the replay's state (package verify).
package offline
