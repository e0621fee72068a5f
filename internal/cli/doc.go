// Package cli is candor, the command-line client of a Candor server.
//
// It turns the command-line contracts (issues 2, 3 and 4: votes, the verifiable log, consensus calls)
// into gRPC calls on the candor.v1 services and prints the answers as aligned tables or, with -o json,
// as protojson. Every write that returns a [candorv1.Receipt] has it saved under the user's config
// folder, in one folder per log origin, so a participant keeps proof that their declaration, ballot
// or position is on the record. The audit commands (verify.go) check receipts, checkpoints and the
// whole log with packages verify and translog, trusting only the verifier key the user gives.
//
// [Execute] runs one command line in-process and returns the exit code: 0 on success, 1 when the server
// refused, could not be reached, or a verification failed, 2 for usage errors (including input the
// server rejected as invalid). Errors reach the user as one plain sentence on stderr naming the
// server's ErrorInfo reason.
//
// The package must never decide anything the server decides: it checks flags and names so that mistakes
// are caught before a round trip, but every rule of the domain (eligibility, declarations, policies, the
// designation workflow) is the server's. It must never take a log's verifier key from the server it is
// checking. It holds no state between runs other than saved receipts and the last verified checkpoint
// of each log, and it never prints a token except the one CreateParticipant returns, once.
package cli
