// Package cli is candor, the command-line client of a Candor server.
//
// It turns the command-line contract (issue 2) into gRPC calls on the candor.v1 services and prints the
// answers as aligned tables or, with -o json, as protojson. Every write that returns a [candorv1.Receipt]
// has it saved under the user's config folder, so a participant keeps proof that their declaration and
// ballot are on the record.
//
// [Execute] runs one command line in-process and returns the exit code: 0 on success, 1 when the server
// refused or could not be reached, 2 for usage errors (including input the server rejected as invalid).
// Errors reach the user as one plain sentence on stderr naming the server's ErrorInfo reason.
//
// The package must never decide anything the server decides: it checks flags and names so that mistakes
// are caught before a round trip, but every rule of the domain (eligibility, declarations, policies) is
// the server's. It holds no state between runs other than saved receipts, and it never prints a token
// except the one CreateParticipant returns, once.
package cli
