// Package loadtest is Candor's load generator, the engine of `candor bench` and `make bench`.
//
// [Run] sets up a body on a live server (an admin creates N participants, adds them as members, each
// files a Statement of Interest, a chair opens K votes), then runs its phases with the same client
// machinery: C concurrent clients call the gRPC health check for a while (the ceiling: what this
// server and machine do for a trivial unary RPC), then C concurrent clients each declare and vote
// for a while (Candor's write path: two durable, logged, receipted writes), and, given the server's
// HTTP listener, C concurrent clients do the same over the REST/JSON gateway on keep-alive
// connections, reported as a ratio to the gRPC write rate of the same run. The [Report] prints one
// figure per line: the ceiling and write rates, their ratio, latency percentiles from a [Histogram],
// errors by gRPC code and ErrorInfo reason, and the server's peak resident memory.
//
// What this package must never do: run unbounded (every loop is bounded in time and in count, and
// latencies go to fixed-size histograms, never to a growing list), retry a refused write of a
// measured phase (a refusal is a figure to report, not to hide; only the setup, which measures
// nothing, tries again when shed as overloaded), or talk to anything but the server it was given.
package loadtest
