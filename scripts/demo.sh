#!/usr/bin/env bash
# make demo: start bin/candord on a fresh data folder at 127.0.0.1 on a free port and run a whole
# session with bin/candor, printed like a transcript: participants and a body; a vote with a refused
# undeclared ballot, an affected-party match that must be explained, a recusal, the close and the
# audit history; a consensus call with an objection, a revised designation, finalisation, an appeal
# and a co-signed minority statement; the stakeholder-group breakdown and the review report; then a
# receipt check and `candor audit verify` of the whole log. The server and the folder are always
# cleaned up. Run `make build` first (make demo does).
set -euo pipefail
cd "$(dirname "$0")/.."

CANDORD=bin/candord
CANDOR=bin/candor
for b in "$CANDORD" "$CANDOR"; do
	[[ -x $b ]] || { echo "demo: $b is missing; run make build first" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/candor-demo.XXXXXX")
DATA=$tmp/data
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

# --- the transcript helpers --------------------------------------------------------------------

declare -A token=()   # who -> bearer token
labels=()             # value, label, value, label...: names shown as $LABEL in echoed commands
last=""               # what the last command printed

# name VALUE LABEL: show VALUE as $LABEL in the commands echoed from now on, and say so once.
name() {
	labels+=("$1" "$2")
	echo "    ($2=$1)"
}

# shown ARGS...: the arguments as a reader would type them, with known names as $LABELs.
shown() {
	local out="" a i
	for a in "$@"; do
		# Newest first: a call's name contains its body's.
		for ((i = ${#labels[@]} - 2; i >= 0; i -= 2)); do
			a=${a//"${labels[i]}"/"\$${labels[i + 1]}"}
		done
		if [[ $a =~ [[:space:]\'\"\|\;\&\(\)\<\>\*\?] ]]; then
			a="\"${a//\"/\\\"}\""
		fi
		out+=" $a"
	done
	printf '%s' "${out# }"
}

# as WHO ARGS...: echo and run `candor ARGS` with WHO's token; the demo stops if it fails.
as() {
	local who=$1 rc=0
	shift
	printf '\n%s$ candor %s\n' "$who" "$(shown "$@")"
	last=$(CANDOR_TOKEN=${token[$who]:-} "$CANDOR" "$@" 2>&1) || rc=$?
	[[ -z $last ]] || printf '%s\n' "$last"
	if ((rc != 0)); then
		echo "demo: that command failed (exit $rc)" >&2
		exit 1
	fi
}

# refused WHO ARGS...: like as, but the server must refuse: the demo goes on, and stops if it did not.
refused() {
	local who=$1 rc=0
	shift
	printf '\n%s$ candor %s\n' "$who" "$(shown "$@")"
	last=$(CANDOR_TOKEN=${token[$who]:-} "$CANDOR" "$@" 2>&1) || rc=$?
	[[ -z $last ]] || printf '%s\n' "$last"
	if ((rc == 0)); then
		echo "demo: that should have been refused" >&2
		exit 1
	fi
	echo "    (exit status $rc: refused, as it must be)"
}

# field KEY: the value after "KEY:" in the last command's output.
field() {
	awk -v k="$1:" '$1 == k { print $2; exit }' <<<"$last"
}

# receipt: the path of the receipt the last command saved.
receipt() {
	sed -n 's/^receipt: \(.*\) (log index [0-9]*)$/\1/p' <<<"$last" | tail -n 1
}

say() { printf '\n# %s\n' "$*"; }

# --- the server -----------------------------------------------------------------------------------

say "Start candord on a fresh data folder, on a free loopback port."
labels+=("$tmp" TMP "$DATA" DATA)
echo "    (TMP=$tmp, a fresh folder; DATA=\$TMP/data)"
echo "\$ candord --data \$DATA --listen 127.0.0.1:0"
"$CANDORD" --data "$DATA" --listen 127.0.0.1:0 2>"$tmp/candord.log" &
pid=$!

# candord logs the address the kernel picked: wait (bounded) for it, then for an answer.
addr=""
for _ in $(seq 100); do
	addr=$(sed -n 's/.*msg="candord serving" addr=\([^ ]*\).*/\1/p' "$tmp/candord.log" | head -n1)
	[[ -n "$addr" ]] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "demo: candord exited:" >&2
		cat "$tmp/candord.log" >&2
		exit 1
	fi
	sleep 0.1
done
if [[ -z "$addr" ]]; then
	echo "demo: candord did not start within 10s:" >&2
	cat "$tmp/candord.log" >&2
	exit 1
fi
export CANDOR_ADDR=$addr CANDOR_CONFIG_DIR=$tmp/config
token[admin]=$(<"$DATA/admin.token")
for i in $(seq 50); do
	CANDOR_TOKEN=${token[admin]} "$CANDOR" --timeout 1s participant list >/dev/null 2>&1 && break
	if ((i == 50)); then
		echo "demo: candord at $addr does not answer:" >&2
		cat "$tmp/candord.log" >&2
		exit 1
	fi
	sleep 0.1
done
echo "candord is serving at $addr; the admin token is in \$DATA/admin.token, the log's public key in \$DATA/log.pub."
echo "Each prompt below runs candor as that person: CANDOR_ADDR=$addr and CANDOR_TOKEN=<their token>."
echo "Resource names are shown in commands as \$NAMES; each is printed once when it is created."

# --- participants and the body --------------------------------------------------------------------

say "The admin adds participants; each token is shown once."
for who in chair alice bob carol audra; do
	case $who in
	chair) display="Chidi Okafor (chair)" ;;
	alice) display="Alice Adeyemi" ;;
	bob) display="Bob Brandt" ;;
	carol) display="Carol Chen" ;;
	audra) display="Audra Lind (auditor)" ;;
	esac
	as admin participant add "$display"
	token[$who]=$(field Token)
	upper=${who^^}
	printf -v "$upper" '%s' "$(field Participant)"
	name "${!upper}" "$upper"
done

say "The admin creates the body, adds members in three stakeholder groups, and grants the auditor role."
as admin body create "At-Large Advisory Committee"
BODY=$(field Body)
name "$BODY" BODY
as admin body add-member "$BODY" "$CHAIR" --role chair --group At-Large
as admin body add-member "$BODY" "$ALICE" --role member --group At-Large
as admin body add-member "$BODY" "$BOB" --role member --group Registries
as admin body add-member "$BODY" "$CAROL" --role member --group Registrars
as admin auditor grant "$AUDRA"
as admin body members "$BODY"

say "Each member keeps a standing Statement of Interest (SOI)."
as chair soi set --employer "University of Lagos" --job-title Lecturer --represents self
as alice soi set --employer Independent --represents "At-Large Structure of Lagos" --group At-Large
as bob soi set --employer "Registry Services Ltd" --job-title Counsel --interest "Example Registry Inc.: shareholder"
as carol soi set --employer "Registrar Co" --interest "Example Registry, Inc.: former adviser"

# --- a vote ---------------------------------------------------------------------------------------

say "The chair opens a vote under the RECUSE policy, naming the party the matter affects."
as chair call open "$BODY" --title "Cap registry fees at USD 7" --matter "Adopt the fee cap of the final report." \
	--affected-party "Example Registry Inc." --conflict-policy recuse --quorum 2 --closes-in 24h
VOTE=$(field Call)
name "$VOTE" VOTE

say "A ballot without a declaration is refused."
refused alice vote "$VOTE" yes

say "Declarations: each restates the SOI (unchanged, pinned by its hash) and declares a conflict."
as alice declare "$VOTE" --conflict none
as chair declare "$VOTE" --conflict none
say "Carol's SOI names the affected party, so 'no conflict' must be explained."
refused carol declare "$VOTE" --conflict none
as carol declare "$VOTE" --conflict none --description "My advisory contract with Example Registry ended in 2025; no current interest."
say "Bob holds shares in the affected party: he declares an ACTUAL conflict and recuses."
as bob declare "$VOTE" --conflict actual --recuse --description "Shareholder of Example Registry Inc."

say "Ballots. Bob is recused, so his ballot is refused."
as alice vote "$VOTE" yes
ALICE_BALLOT=$(receipt)
as chair vote "$VOTE" yes
as carol vote "$VOTE" no
refused bob vote "$VOTE" yes

say "The chair watches who has declared and voted, and whose SOI matches an affected party."
as chair call show "$VOTE"

say "The chair closes the vote: recusals stand outside quorum and majority; the result breaks down by group."
as chair call close "$VOTE"

say "The auditor reads Bob's declaration history and the call's record."
as audra audit history "$BOB"
as audra audit call "$VOTE"

# --- a consensus call -----------------------------------------------------------------------------

say "The chair opens a consensus call on the same matter's next step."
as chair call open "$BODY" --kind consensus --title "Recommendation 7: phase in the fee cap" \
	--matter "Phase in the fee cap over two years." --affected-party "Example Registry Inc."
CONS=$(field Call)
name "$CONS" CONS

say "Positions need a declaration too."
refused alice position "$CONS" support
as chair declare "$CONS" --conflict none
as alice declare "$CONS" --conflict none
as bob declare "$CONS" --conflict potential --description "Shareholder of Example Registry Inc."
as carol declare "$CONS" --conflict none --description "Former adviser to Example Registry; contract ended in 2025."
as chair position "$CONS" support
as alice position "$CONS" support-with-concerns --comment "Two years is tight for small registries."
as bob position "$CONS" oppose --comment "The cost falls on registries."
as carol position "$CONS" oppose --comment "Registrars will pass the cost on to registrants."

say "Bob files a minority statement naming Carol as co-signer; Carol signs."
printf '%s\n\n%s\n' "We dissent: the fee cap's cost falls on registries and, through them, on registrants." \
	"We ask for a three-year phase-in and a review after the first year." >"$tmp/dissent.txt"
echo "    (dissent.txt holds the statement's text)"
as bob minority file "$CONS" --text-file "$tmp/dissent.txt" --cosigner "$CAROL"
STATEMENT=$(field Statement)
name "$STATEMENT" STATEMENT
as carol minority sign "$STATEMENT"

say "The chair closes the positions, then proposes a designation; Bob objects."
as chair call close "$CONS"
as chair call propose "$CONS" --designation full-consensus --rationale "Everyone who spoke supports a phase-in." --objection-window 1h
as bob call object "$CONS" --reason "Two of four oppose: that is not full consensus."
refused chair call finalize "$CONS"

say "The chair revises the designation with a short objection window, waits it out, and finalises."
as chair call propose "$CONS" --designation strong-support-significant-opposition \
	--rationale "Two support, two oppose with reasons on the record." --objection-window 2s
echo
echo "\$ sleep 2"
sleep 2.2
as chair call finalize "$CONS"
as bob call appeal "$CONS" --reason "The registries' cost analysis was not considered."

say "The whole record: positions, the stakeholder-group breakdown, designations, objections, appeal, minority statement."
as chair call show "$CONS"

say "The review report for the body's periodic review of its model."
as chair report review "$BODY"

# --- receipts and the verifiable log ----------------------------------------------------------------

say "Alice checks the receipt candor saved for her ballot against today's log, with the log's public key."
name "$ALICE_BALLOT" ALICE_BALLOT
as alice audit checkpoint --key "$DATA/log.pub"
as alice audit receipt "$ALICE_BALLOT" --key "$DATA/log.pub"

say "The auditor verifies the whole log offline against the pinned key: signatures, root, consistency, rules."
as audra audit verify --key "$DATA/log.pub"

# --- stop ---------------------------------------------------------------------------------------------

say "Stop the server."
echo "\$ kill -TERM $pid"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
if ((rc != 0)); then
	echo "demo: candord exited with status $rc:" >&2
	tail -n 5 "$tmp/candord.log" >&2
	exit 1
fi
echo "candord stopped cleanly."
echo
echo "Demo complete."
