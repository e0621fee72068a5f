# Shell functions shared by scripts/bench.sh and scripts/run-cluster.sh: start candord servers, a
# 3-member etcd cluster (the etcd server module pinned in go.mod, built to $tmp/etcd by the caller)
# and candord replicas on it, on 127.0.0.1, and stop everything they started.
#
# The caller sets tmp (a folder for logs and data), ETCD_MAX_TXN_OPS, and pids=() before use, and
# calls stop_all on exit. Messages are prefixed with the caller's name.

me=${0##*/}

stop_all() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	pids=()
}

# start_candord LOG ARGS...: start candord with ARGS, logging to LOG, and wait (bounded) until it
# serves; sets pid, addr (gRPC host:port) and web (the HTTP URL, "" without an HTTP listener).
start_candord() {
	local log=$1
	shift
	bin/candord "$@" 2>"$log" &
	pid=$!
	pids+=("$pid")
	# candord logs the address it listens on (addr=HOST:PORT web=http://HOST:PORT/); wait (bounded)
	# for that line.
	addr=""
	for _ in $(seq 100); do
		addr=$(sed -n 's/.*msg="candord serving" addr=\([^ ]*\).*/\1/p' "$log" | head -n1)
		[[ -n "$addr" ]] && break
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "$me: candord exited:" >&2
			cat "$log" >&2
			exit 1
		fi
		sleep 0.1
	done
	if [[ -z "$addr" ]]; then
		echo "$me: candord did not start within 10s:" >&2
		cat "$log" >&2
		exit 1
	fi
	web=$(sed -n 's/.*msg="candord serving" .* web=\(https\{0,1\}:\/\/[^ ]*\).*/\1/p' "$log" | head -n1)
}

# free_port prints a port on 127.0.0.1 that nothing listens on, below Linux's ephemeral range (so
# no outgoing connection holds it). If another process takes it between this check and its use,
# etcd's start is tried again on other ports; a replica's fails the bench.
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "$me: no free port found" >&2
	exit 1
}

# etcd_healthy PORT: whether the member at PORT answers /health with "health":"true".
etcd_healthy() {
	local reply
	reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /health HTTP/1.0\r\n\r\n' >&3 && timeout 2 cat <&3) 2>/dev/null) || return 1
	[[ "$reply" == *'"health":"true"'* ]]
}

# start_etcd: start a 3-member cluster (up to three tries on fresh ports) and wait (bounded) until
# every member is healthy; sets endpoints (host:port,...).
start_etcd() {
	local try i ports initial
	for try in 1 2 3; do
		ports=()
		initial=""
		for i in 0 1 2; do
			ports+=("$(free_port)" "$(free_port)")
			initial+="${initial:+,}m$i=http://127.0.0.1:${ports[2 * i + 1]}"
		done
		endpoints=""
		for i in 0 1 2; do
			local client=http://127.0.0.1:${ports[2 * i]} peer=http://127.0.0.1:${ports[2 * i + 1]}
			endpoints+="${endpoints:+,}127.0.0.1:${ports[2 * i]}"
			"$tmp/etcd" --name "m$i" --data-dir "$tmp/etcd$try/m$i" \
				--listen-client-urls "$client" --advertise-client-urls "$client" \
				--listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
				--initial-cluster "$initial" --initial-cluster-state new --initial-cluster-token "$me-$$-$try" \
				--max-txn-ops "$ETCD_MAX_TXN_OPS" --log-outputs stderr 2>"$tmp/etcd$try-m$i.log" &
			pids+=("$!")
		done
		for _ in $(seq 300); do
			local healthy=0
			for i in 0 1 2; do
				etcd_healthy "${ports[2 * i]}" && healthy=$((healthy + 1))
			done
			if [[ $healthy == 3 ]]; then
				return
			fi
			if grep -q "address already in use" "$tmp"/etcd"$try"-m*.log; then
				break
			fi
			sleep 0.1
		done
		echo "$me: etcd try $try did not become healthy within 30s:" >&2
		tail -n 5 "$tmp"/etcd"$try"-m*.log >&2
		stop_all
	done
	exit 1
}

# start_replica NAME [PORT [HTTP]]: start a candord replica on the etcd store with data folder
# $tmp/NAME, gRPC on PORT (default a free one; the address other replicas forward writes to) and
# the HTTP listener on HTTP (default none); sets pid, addr and web.
start_replica() {
	local port=${2:-$(free_port)}
	start_candord "$tmp/$1.log" --data "$tmp/$1" --listen "127.0.0.1:$port" --advertise "127.0.0.1:$port" \
		--http-listen "${3:-}" --store etcd --etcd-endpoints "$endpoints" --etcd-max-txn-ops "$ETCD_MAX_TXN_OPS" \
		${MAX_WRITES_IN_FLIGHT:+--max-writes-in-flight "$MAX_WRITES_IN_FLIGHT"}
}

# share_keys FROM TO: give replica folder $tmp/TO the log key, its public half and the admin token
# of $tmp/FROM: every replica signs with the same key.
share_keys() {
	mkdir -m 700 "$tmp/$2"
	local f
	for f in log.key log.pub admin.token; do
		install -m 600 "$tmp/$1/$f" "$tmp/$2/$f"
	done
}

