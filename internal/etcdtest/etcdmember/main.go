// Command etcdmember runs one etcd member: etcd's own entry point, flags and all.
//
// It exists so that tests can run etcd as separate OS processes (to SIGKILL, SIGSTOP and restart
// them) without downloading a release: internal/etcdtest builds it from the etcd server module
// pinned in go.mod, so the server under test is exactly the version the code depends on.
// Only tests and benchmarks build and run it: internal/etcdtest, and scripts/bench.sh for make bench.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
