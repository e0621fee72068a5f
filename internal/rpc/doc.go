// Package rpc is Candor's gRPC transport: it authenticates the bearer token, validates each request
// (refusing bad input with InvalidArgument and field violations before anything is read or written),
// calls the service, and maps the service's errors to google.rpc.Status with an ErrorInfo reason.
//
// Handlers are thin: validate, call, map. No rule of Candor's is decided here: validation checks a
// request's shape only (lengths, UTF-8, names, enum ranges; see the domain package for where the line
// runs), and whether a write is accepted is for package domain, which the auditor replays. Reasons
// come from the proto's ErrorReason enum. This package must never touch the store directly.
package rpc
