#!/usr/bin/env bash
# make run-cluster: try Candor on an etcd cluster on this machine. It starts 3 etcd members (built
# from the etcd server module pinned in go.mod) and 2 candord replicas on 127.0.0.1, and serves until
# Ctrl-C, then stops everything. Data lives in a fresh temporary folder and is gone afterwards: this
# is for trying failover by hand, not for keeping a record (docs/etcd.md deploys it for real).
#
#   replica r0: gRPC 127.0.0.1:7440, web and REST http://127.0.0.1:7441/
#   replica r1: gRPC 127.0.0.1:7442, web and REST http://127.0.0.1:7443/
#
# Kill one replica's pid (printed below) and watch the other take over the log within its lease.
set -euo pipefail
cd "$(dirname "$0")/.."

ETCD_MAX_TXN_OPS=${ETCD_MAX_TXN_OPS:-4096}
GO=${GO:-go}

"$GO" build -o bin/candord ./server
"$GO" build -o bin/candor ./client
tmp=$(mktemp -d "${TMPDIR:-/tmp}/candor-cluster.XXXXXX")
"$GO" build -o "$tmp/etcd" ./internal/etcdtest/etcdmember

pids=() # every process this script started: candord replicas, etcd members
# shellcheck source=scripts/cluster-lib.sh
. scripts/cluster-lib.sh
cleanup() {
	stop_all
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_etcd
echo "run-cluster: etcd members at $endpoints (logs in $tmp)"
start_replica r0 7440 127.0.0.1:7441
echo "run-cluster: replica r0 (pid $pid) at $addr, $web"
share_keys r0 r1
start_replica r1 7442 127.0.0.1:7443
echo "run-cluster: replica r1 (pid $pid) at $addr, $web"
echo "run-cluster: admin token: $(cat "$tmp/r0/admin.token")  (also in $tmp/r0/admin.token)"
echo "run-cluster: try  bin/candor --addr 127.0.0.1:7442 --token-file $tmp/r0/admin.token body list"
echo "run-cluster: Ctrl-C stops everything"
wait
