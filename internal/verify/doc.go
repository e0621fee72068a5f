// Package verify is Candor's auditor: it checks, from outside, that a server's log is complete,
// unaltered and only ever grew, and that every ballot it accepted was preceded by a valid
// declaration. It is what `candor audit verify` and `candor audit receipt` run.
//
// [Log] fetches the signed checkpoint and checks it against a pinned key, checks that it extends
// the checkpoint this auditor verified last (kept in a state folder, one file per log), streams
// every entry and rebuilds the Merkle root page by page, proving each page against the checkpoint
// before anything reads it, and hands each authenticated entry to a [Replayer]. The Replayer
// rebuilds participants, SOI versions, bodies, members and calls (declarations, clearances,
// ballots, positions, the consensus workflow) from the entries alone, applies the functions of
// package domain to them (the same ones the server calls, with the entry's time as "now"), and
// recomputes every result. [Receipt] checks a participant's saved receipt and that its entry is
// still in today's log. Failures name the first bad entry ([EntryError]) and, when the entry breaks
// a rule, the rule's reason from the proto's ErrorReason enum: the reason the server gives when it
// refuses a request that would break it.
//
// What this package must never do:
//
//   - Trust the server's answers beyond what it checks. The only trusted input is the pinned
//     verifier key (and the checkpoint kept from the last run). Every entry is authenticated
//     against the signed root before the replay reads it; every proof is checked, never assumed;
//     results are recomputed, never copied; a search answer ("no declarations by X") is never
//     taken from the server, because it cannot be proven.
//   - Take the key from the server, or accept a checkpoint that does not extend the one kept
//     from the last run: a server that rolled back or forked must fail.
//   - Hold the log in memory. Memory is one page of entries plus the replay state, which is per
//     participant, per body, per open call and per consensus call, never per entry.
//   - Write to the server, hand-roll tree math or signatures (package translog does both with
//     x/mod's tlog and note), or restate a rule of Candor's instead of calling package domain.
package verify
