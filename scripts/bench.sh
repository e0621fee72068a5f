#!/usr/bin/env bash
# make bench: build candord and candor, start candord on a fresh data folder at 127.0.0.1 on free
# ports (gRPC and HTTP), run `candor bench` against it (ceiling, gRPC writes, then the same writes
# over the REST/JSON gateway) and print the report, then stop the server. The server and the folder
# are always cleaned up.
#
# Environment overrides (defaults in brackets):
#   CONCURRENCY [256]  PARTICIPANTS [=CONCURRENCY]  DURATION [10s]  CALLS [4]  CONNS [1]
#   MAX_WRITES_IN_FLIGHT [candord's default]  BENCH_ARGS [extra flags for candor bench]
set -euo pipefail
cd "$(dirname "$0")/.."

CONCURRENCY=${CONCURRENCY:-256}
PARTICIPANTS=${PARTICIPANTS:-$CONCURRENCY}
DURATION=${DURATION:-10s}
CALLS=${CALLS:-4}
CONNS=${CONNS:-1}
GO=${GO:-go}

"$GO" build -o bin/candord ./server
"$GO" build -o bin/candor ./client

tmp=$(mktemp -d "${TMPDIR:-/tmp}/candor-bench.XXXXXX")
pid=""
cleanup() {
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

server_args=(--data "$tmp/data" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0)
if [[ -n "${MAX_WRITES_IN_FLIGHT:-}" ]]; then
	server_args+=(--max-writes-in-flight "$MAX_WRITES_IN_FLIGHT")
fi
bin/candord "${server_args[@]}" 2>"$tmp/candord.log" &
pid=$!

# candord listens on ports the kernel picked and logs them (addr=HOST:PORT web=http://HOST:PORT/);
# wait (bounded) for that line.
addr=""
for _ in $(seq 100); do
	addr=$(sed -n 's/.*msg="candord serving" addr=\([^ ]*\).*/\1/p' "$tmp/candord.log" | head -n1)
	[[ -n "$addr" ]] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "bench: candord exited:" >&2
		cat "$tmp/candord.log" >&2
		exit 1
	fi
	sleep 0.1
done
if [[ -z "$addr" ]]; then
	echo "bench: candord did not start within 10s:" >&2
	cat "$tmp/candord.log" >&2
	exit 1
fi
web=$(sed -n 's/.*msg="candord serving" .* web=\(https\{0,1\}:\/\/[^ ]*\).*/\1/p' "$tmp/candord.log" | head -n1)
if [[ -z "$web" ]]; then
	echo "bench: candord logged no HTTP address (web=...):" >&2
	cat "$tmp/candord.log" >&2
	exit 1
fi

echo "bench: candord (pid $pid) at $addr and $web on $(nproc) cores; C=$CONCURRENCY N=$PARTICIPANTS D=$DURATION K=$CALLS" >&2
# candor bench waits (bounded) for the health check to answer SERVING before it starts.
bin/candor bench --addr "$addr" --http-addr "$web" --token-file "$tmp/data/admin.token" \
	--concurrency "$CONCURRENCY" --participants "$PARTICIPANTS" --duration "$DURATION" \
	--calls "$CALLS" --conns "$CONNS" --server-pid "$pid" ${BENCH_ARGS:-}
