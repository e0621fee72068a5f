// Package domain holds Candor's rules: who may declare and vote, what a conflict policy allows, when a
// declaration is stale, and how a closed vote is tallied. The invariant that is the product lives here,
// in [CheckBallot]: no ballot without a current, non-recused, policy-allowed declaration by the same
// participant for the same open call, filed after it opened.
//
// Every function is pure: it reads the values it is given and the time it is told. The service calls
// them inside the store transaction that writes the result, and the offline auditor calls the same
// functions on state rebuilt from the log, so the server and its auditors apply one set of rules.
//
// This package must never import gRPC, bbolt or the store.
package domain
