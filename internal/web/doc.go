// Package web is Candor's web app: pages rendered on the server from embedded templates, sessions,
// CSRF protection, receipts to download, and a Server-Sent Events relay of a call's live roster.
//
// It is one more client of the gRPC contract, exactly like internal/cli: every page is built from
// RPCs made as the signed-in user (their bearer token attached per request from the server-side
// session), so authentication, load shedding, validation and error mapping run once, in candord's
// interceptors, for the CLI, the REST gateway and the browser alike.
//
// What this package must never do:
//   - call internal/service or internal/store, or decide a rule itself: the server refuses, and the
//     page only says the server's sentence. What a page offers (chair controls, links to records)
//     follows the permission functions of internal/domain, the pure functions the server decides
//     with: those are all this package takes from the domain;
//   - let a bearer token reach a URL, a page, a cookie, a log line or an error: the browser holds only
//     a random session id, and the token lives in this process's memory until the session ends;
//   - render anything without html/template's contextual escaping, or put script or style inline
//     (the Content-Security-Policy forbids both);
//   - change state on a GET: every write is a POST carrying a CSRF token, answered with a 303 redirect.
package web
