#!/usr/bin/env bash
# make bench: build candord and candor, start candord on a fresh data folder at 127.0.0.1 on free
# ports (gRPC and HTTP), run `candor bench` against it (ceiling, gRPC writes, then the same writes
# over the REST/JSON gateway) and print the report, then stop the server. The server and the folder
# are always cleaned up.
#
# Then, unless CLUSTER=0, the same load against candord on an etcd store, after the bbolt server has
# stopped: a 3-member etcd cluster on 127.0.0.1 (built from the etcd server module pinned in go.mod,
# as internal/etcdtest builds it), first with one candord replica, then with a second replica (same
# log key and admin token) and the clients' connections spread over both; writes that reach the
# second replica are forwarded to the one that sequences the log. These runs skip the REST phase. A
# summary of write rate and p99 latency, bbolt beside etcd, ends the output.
#
# Environment overrides (defaults in brackets):
#   CONCURRENCY [256]  PARTICIPANTS [=CONCURRENCY]  DURATION [10s]  CALLS [4]  CONNS [1]
#   MAX_WRITES_IN_FLIGHT [candord's default]  BENCH_ARGS [extra flags for candor bench]
#   CLUSTER [1; 0 skips the etcd runs]  ETCD_MAX_TXN_OPS [4096]
#   CLUSTER_CONCURRENCY [=CONCURRENCY]  CLUSTER_PARTICIPANTS [=PARTICIPANTS, else CLUSTER_CONCURRENCY]
#   CLUSTER_DURATION [=DURATION] (the same figures, for the etcd runs alone)
set -euo pipefail
cd "$(dirname "$0")/.."

CONCURRENCY=${CONCURRENCY:-256}
CLUSTER_CONCURRENCY=${CLUSTER_CONCURRENCY:-$CONCURRENCY}
CLUSTER_PARTICIPANTS=${CLUSTER_PARTICIPANTS:-${PARTICIPANTS:-$CLUSTER_CONCURRENCY}}
PARTICIPANTS=${PARTICIPANTS:-$CONCURRENCY}
DURATION=${DURATION:-10s}
CALLS=${CALLS:-4}
CONNS=${CONNS:-1}
CLUSTER=${CLUSTER:-1}
ETCD_MAX_TXN_OPS=${ETCD_MAX_TXN_OPS:-4096}
CLUSTER_DURATION=${CLUSTER_DURATION:-$DURATION}
GO=${GO:-go}

"$GO" build -o bin/candord ./server
"$GO" build -o bin/candor ./client

tmp=$(mktemp -d "${TMPDIR:-/tmp}/candor-bench.XXXXXX")
if [[ "$CLUSTER" != 0 ]]; then
	"$GO" build -o "$tmp/etcd" ./internal/etcdtest/etcdmember
fi
cleanup() {
	stop_all
	rm -rf "$tmp"
}
pids=() # every process this script started: candord servers, etcd members
# shellcheck source=scripts/cluster-lib.sh
. scripts/cluster-lib.sh
trap cleanup EXIT
trap 'exit 130' INT TERM

server_args=(--data "$tmp/data" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0)
if [[ -n "${MAX_WRITES_IN_FLIGHT:-}" ]]; then
	server_args+=(--max-writes-in-flight "$MAX_WRITES_IN_FLIGHT")
fi
start_candord "$tmp/candord.log" "${server_args[@]}"
if [[ -z "$web" ]]; then
	echo "bench: candord logged no HTTP address (web=...):" >&2
	cat "$tmp/candord.log" >&2
	exit 1
fi

echo "bench: candord (pid $pid) at $addr and $web on $(nproc) cores; C=$CONCURRENCY N=$PARTICIPANTS D=$DURATION K=$CALLS" >&2
# candor bench waits (bounded) for the health check to answer SERVING before it starts.
bin/candor bench --addr "$addr" --http-addr "$web" --token-file "$tmp/data/admin.token" \
	--concurrency "$CONCURRENCY" --participants "$PARTICIPANTS" --duration "$DURATION" \
	--calls "$CALLS" --conns "$CONNS" --server-pid "$pid" ${BENCH_ARGS:-} | tee "$tmp/report-bbolt.txt"

if [[ "$CLUSTER" == 0 ]]; then
	exit 0
fi
stop_all # the etcd runs get the machine to themselves, as the bbolt run had

start_etcd
echo "bench: etcd cluster of 3 members at $endpoints (--max-txn-ops $ETCD_MAX_TXN_OPS)" >&2

start_replica r0
r0=$addr r0pid=$pid
echo "bench: candord r0 (pid $r0pid) at $r0 on the etcd store; C=$CLUSTER_CONCURRENCY N=$CLUSTER_PARTICIPANTS D=$CLUSTER_DURATION K=$CALLS" >&2
echo
echo "etcd, 3 members, 1 replica:"
bin/candor bench --addr "$r0" --token-file "$tmp/r0/admin.token" \
	--concurrency "$CLUSTER_CONCURRENCY" --participants "$CLUSTER_PARTICIPANTS" --duration "$CLUSTER_DURATION" \
	--calls "$CALLS" --conns "$CONNS" --server-pid "$r0pid" ${BENCH_ARGS:-} | tee "$tmp/report-etcd1.txt"

# A second replica shares the first's log key, its public half and the admin token.
share_keys r0 r1
start_replica r1
r1=$addr
echo "bench: candord r1 (pid $pid) at $r1; clients alternate between r0 and r1 (r0 sequences the log)" >&2
echo
echo "etcd, 3 members, 2 replicas (load spread over both):"
bin/candor bench --addr "$r0,$r1" --token-file "$tmp/r0/admin.token" \
	--concurrency "$CLUSTER_CONCURRENCY" --participants "$CLUSTER_PARTICIPANTS" --duration "$CLUSTER_DURATION" \
	--calls "$CALLS" --conns "$((CONNS < 2 ? 2 : CONNS))" --server-pid "$r0pid" ${BENCH_ARGS:-} | tee "$tmp/report-etcd2.txt"

# figure FILE NAME: the value of one line of a report ("write rps:   1558" -> 1558).
figure() { sed -n "s/^$2: *//p" "$1" | head -n1; }
echo
echo "summary (one run, K=$CALLS, $(nproc) cores):"
printf '  %-30s %6s %7s %10s %12s %12s %8s\n' "store" "C" "D" "ceiling" "write rps" "write p99" "errors"
for run in "bbolt (default):bbolt:$CONCURRENCY:$DURATION" \
	"etcd, 3 members, 1 replica:etcd1:$CLUSTER_CONCURRENCY:$CLUSTER_DURATION" \
	"etcd, 3 members, 2 replicas:etcd2:$CLUSTER_CONCURRENCY:$CLUSTER_DURATION"; do
	IFS=: read -r name file c d <<<"$run"
	f=$tmp/report-$file.txt
	printf '  %-30s %6s %7s %10s %12s %12s %8s\n' "$name" "$c" "$d" "$(figure "$f" "ceiling rps")" \
		"$(figure "$f" "write rps")" "$(figure "$f" "write p99")" "$(figure "$f" "errors")"
done
