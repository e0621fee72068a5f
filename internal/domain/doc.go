// Package domain holds Candor's rules: who may declare and vote, what a conflict policy allows, when a
// declaration is stale, and how a closed vote is tallied. The invariant that is the product lives here,
// in [CheckBallot]: no ballot without a current, non-recused, policy-allowed declaration by the same
// participant for the same open call, filed after it opened.
//
// Every function is pure: it reads the values it is given and the time it is told. The service calls
// them inside the store transaction that writes the result, and the offline auditor calls the same
// functions on state rebuilt from the log, so the server and its auditors apply one set of rules.
//
// Where the line with the transport runs: a check belongs here when it decides whether a write is
// accepted, that is, when a log holding the write could be wrong (a conflict without a description,
// an objection window beyond 90 days, a co-signer or an eligible participant or an option named twice,
// a vote with one option). A check stays in the transport (internal/rpc, validate.go) when it is only
// about a request's shape: lengths and counts against the documented maximums, valid UTF-8 and
// visible names, resource-name syntax, enum values in range, timestamps that parse. Anything the
// auditor's replay (internal/verify) must see is here.
//
// Every refusal names its reason in the proto's ErrorReason enum ([ReasonOf]), which the server
// sends, the verifier reports, and the clients' sentences are keyed by; [Reason] is its spelling on
// the wire.
//
// Permissions live here too (permissions.go): who is the admin, a chair or an auditor, the actor
// names the log writes ("admin", "server", "participants/{id}"), and [ReadTable], who may read what,
// from which docs/permissions.md is generated.
//
// This package must never import gRPC, bbolt or the store.
package domain
