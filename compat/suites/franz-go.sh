#!/usr/bin/env bash
# Runs franz-go's own kgo integration tests (the version go.mod pins) against
# Samsa, as franz-go's CI runs them against Kafka: KGO_SEEDS names a PLAINTEXT
# listener, KGO_TEST_SCRAM_SEEDS a SASL_PLAINTEXT one with a SCRAM-SHA-256
# user, replication factor 1. Not part of make test: it takes a couple of
# minutes. It uses ports 9192 and 9193 (not the seed tutorial's 9092).
#
#   compat/suites/franz-go.sh [extra go test flags]
#
# KGO_TEST_RECORDS (default here 50000; franz-go's default is 500000) bounds
# the records its ETL tests produce and consume.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

version="$(cd "$root" && go list -m -f '{{.Version}}' github.com/twmb/franz-go)"
src="$(cd "$root" && go list -m -f '{{.Dir}}' github.com/twmb/franz-go)"
echo "franz-go $version" >&2
cp -r "$src" "$work/franz-go" && chmod -R u+w "$work/franz-go"
(cd "$root" && go build -o "$work/samsa" ./cmd/samsa)

cat > "$work/server.properties" <<PROPS
broker.id=1
delete.topic.enable=true
auto.create.topics.enable=true
listeners=PLAINTEXT://127.0.0.1:9192,SASL_PLAINTEXT://127.0.0.1:9193
sasl.enabled.mechanisms=SCRAM-SHA-256
log.dirs=$work/data
PROPS
"$work/samsa" serve --config "$work/server.properties" > "$work/samsa.log" 2>&1 &
pid=$!
for _ in $(seq 50); do "$work/samsa" -b 127.0.0.1:9192 cluster info >/dev/null 2>&1 && break; sleep 0.1; done
"$work/samsa" -b 127.0.0.1:9192 users create kgo --mechanism SCRAM-SHA-256 --password kgo-secret >/dev/null

cd "$work/franz-go/pkg/kgo"
status=0
KGO_SEEDS=127.0.0.1:9192 KGO_TEST_RF=1 KGO_TEST_RECORDS="${KGO_TEST_RECORDS:-50000}" \
	KGO_TEST_SCRAM_SEEDS=127.0.0.1:9193 KGO_TEST_SCRAM=kgo:kgo-secret \
	go test -count=1 -timeout 15m "$@" . || status=$?
if [ "$status" -ne 0 ]; then
	echo "--- samsa log (last 50 lines)" >&2
	tail -50 "$work/samsa.log" >&2
fi
exit "$status"
