#!/usr/bin/env bash
# Runs IBM/sarama's own functional tests (the version compat/goclients pins;
# its module source from the Go module proxy includes them) against one Samsa
# set up as sarama's docker-compose.yml sets up Kafka: auto-creation off,
# group.initial.rebalance.delay.ms 0, delete.topic.enable. Not part of make
# test: it takes about five minutes and port 9611 must be free.
#
#   compat/suites/sarama.sh [extra go test flags]
#   KAFKA_VERSION=4.0.0 compat/suites/sarama.sh   # the version sarama is told
#   SARAMA_SUITE_LOG=/tmp/sarama.log compat/suites/sarama.sh  # keep go test's output
#   SARAMA_SUITE_KEEP=1 ...   # keep the work directory (broker log, data)
#
# sarama's tests expect five brokers behind toxiproxy. suites/sarama.patch
# adapts the harness, and nothing else, to one broker without a proxy:
#   - SAMSA_PEERS names the broker (an "existing environment", so the tests
#     that run docker exec against Kafka's own tools skip themselves);
#   - replication factor 1 for the pre-created topics;
#   - "stop a broker" restarts Samsa ($SAMSA_STOP_CMD then $SAMSA_START_CMD),
#     since one broker cannot fail over; "start" starts it if it is down;
#   - no toxiproxy latency to expect in the producer metrics; tests that
#     need a proxy skip themselves.
# KAFKA_VERSION is 4.3.1 unless set, as in sarama's CI. Below 3.0, sarama's
# version matrix also runs clients of 0.8-0.10 that produce message formats
# v0/v1 and fetch with Fetch v0-v3, which Samsa does not serve, as Kafka 4.0
# does not (docs/UNSUPPORTED.md): those tests fail or wait for their timeout.
# Any failure not listed in suites/sarama-known-failures.txt (with its reason)
# fails the run; a listed test that passes is reported.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
port=9611
cleanup() {
	if [ -n "${testpid:-}" ]; then pkill -P "$testpid" 2>/dev/null; kill "$testpid" 2>/dev/null; fi
	[ -f "$work/pid" ] && kill "$(cat "$work/pid")" 2>/dev/null
	if [ -n "${SARAMA_SUITE_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

if (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null; then
	echo "port $port is in use: is another run going on?" >&2
	exit 1
fi
version="$(cd "$root/compat/goclients" && go list -m -f '{{.Version}}' github.com/IBM/sarama)"
src="$(cd "$root/compat/goclients" && go list -m -f '{{.Dir}}' github.com/IBM/sarama)"
export KAFKA_VERSION="${KAFKA_VERSION:-4.3.1}"
echo "sarama $version, told the broker is Kafka $KAFKA_VERSION" >&2
cp -r "$src" "$work/sarama" && chmod -R u+w "$work/sarama"
(cd "$work/sarama" && patch -s -p1 < "$root/compat/suites/sarama.patch")
(cd "$root" && go build -o "$work/samsa" ./cmd/samsa)

# start: start Samsa unless it runs, wait until it answers. stop: SIGTERM,
# wait until it exited (a clean shutdown, as docker compose stop).
cat > "$work/start" <<EOF
#!/usr/bin/env bash
if [ -f "$work/pid" ] && kill -0 "\$(cat "$work/pid")" 2>/dev/null; then exit 0; fi
"$work/samsa" serve --data-dir "$work/data" --listen 127.0.0.1:$port \\
	--set node.id=1 --set auto.create.topics.enable=false \\
	--set group.initial.rebalance.delay.ms=0 --set delete.topic.enable=true \\
	>> "$work/samsa.log" 2>&1 &
echo \$! > "$work/pid"
for _ in \$(seq 100); do
	"$work/samsa" -b 127.0.0.1:$port cluster info >/dev/null 2>&1 && exit 0
	sleep 0.1
done
echo "samsa did not start" >&2; exit 1
EOF
cat > "$work/stop" <<EOF
#!/usr/bin/env bash
pid="\$(cat "$work/pid")"
kill -TERM "\$pid" 2>/dev/null || exit 0
for _ in \$(seq 100); do kill -0 "\$pid" 2>/dev/null || exit 0; sleep 0.1; done
echo "samsa did not stop" >&2; exit 1
EOF
chmod +x "$work/start" "$work/stop"
"$work/start"

# The functional tests only: with -tags functional the unit tests would run
# too, against sarama's mock broker.
tests="$(cd "$work/sarama" && grep -ho '^func Test[A-Za-z0-9_]*' functional_*_test.go | sed 's/^func //' | sort -u | paste -sd'|')"
cd "$work/sarama"
status=0
SAMSA_PEERS=127.0.0.1:$port SAMSA_START_CMD="$work/start" SAMSA_STOP_CMD="$work/stop" \
	go test -tags functional -count=1 -timeout 20m -v -run "^($tests)\$" "$@" . \
	> "$work/test.log" 2>&1 &
testpid=$!
wait "$testpid" || status=$?
testpid=

[ -n "${SARAMA_SUITE_LOG:-}" ] && cp "$work/test.log" "$SARAMA_SUITE_LOG"
known="$root/compat/suites/sarama-known-failures.txt"
{ grep -E '^--- FAIL: ' "$work/test.log" || true; } | awk '{print $3}' | sort -u > "$work/failed"
{ grep -vE '^(#|$)' "$known" || true; } | awk '{print $1}' | sort -u > "$work/known"
passed=$(grep -cE '^--- PASS: ' "$work/test.log" || true)
skipped=$(grep -cE '^--- SKIP: ' "$work/test.log" || true)
failed=$(wc -l < "$work/failed")
echo "sarama functional tests: $passed passed, $skipped skipped, $failed failed (top-level)" >&2
unexpected="$(comm -23 "$work/failed" "$work/known")"
fixed="$(comm -13 "$work/failed" "$work/known")"
if [ -n "$fixed" ]; then
	echo "listed as known failures but passed:" >&2
	echo "$fixed" | sed 's/^/  /' >&2
fi
if [ -n "$unexpected" ] || { [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; }; then
	echo "unexpected failures:" >&2
	echo "${unexpected:-  (go test exited $status without a failed test: a panic or timeout?)}" | sed 's/^/  /' >&2
	for t in $unexpected; do
		grep -n -B30 -E "^--- FAIL: $t " "$work/test.log" | tail -40 >&2
	done
	tail -30 "$work/test.log" >&2
	echo "--- samsa log (last 50 lines)" >&2
	tail -50 "$work/samsa.log" >&2
	exit 1
fi
echo "no unexpected failures" >&2
