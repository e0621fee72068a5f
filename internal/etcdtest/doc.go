// Package etcdtest runs a real etcd cluster for tests: n members on 127.0.0.1, each a separate OS
// process, so a test can SIGKILL the leader, SIGSTOP a member past the election timeout, and
// restart a killed member on its old data folder.
//
// The server is built once per test binary from the etcd server module pinned in go.mod (see
// [Build] and the etcdmember command); nothing is downloaded at run time, and a test that cannot
// build it fails rather than skips. [Start] picks free ports, keeps data and logs under
// t.TempDir(), waits until every member is healthy and agrees on a leader, and registers cleanup
// that kills every member's process group (and, on Linux, the kernel kills the members if the
// test binary dies first). When a test fails, the tail of each member's log is logged.
//
// Every wait is a bounded poll. Methods that take no context fail the test on error and must be
// called from the test's goroutine. This package must never be imported by non-test code, and
// never talks to an etcd it did not start. It needs a Unix system.
package etcdtest
