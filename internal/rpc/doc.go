// Package rpc is Candor's gRPC transport: it authenticates the bearer token, validates each request
// (refusing bad input with InvalidArgument and field violations before anything is read or written),
// calls the service, and maps the service's errors to google.rpc.Status with an ErrorInfo reason.
//
// Handlers are thin: validate, call, map. No rule of Candor's is decided here, and this package must
// never touch the store directly.
package rpc
