#!/usr/bin/env bash
# Runs librdkafka's own test suite (tests/test-runner, its broker tests in
# quick mode) against Samsa, as librdkafka's CI runs it against Kafka. Not
# part of make test: it needs a librdkafka source tree (GitHub is not
# reachable from CI) and takes about 15 minutes. It uses port 9292.
#
#   compat/suites/librdkafka.sh /path/to/librdkafka [TESTS=...]
#
# The tree is configured and built once (make libs, tests/test-runner). The
# broker runs with 4 partitions per auto-created topic, as librdkafka's test
# clusters do, and with the ACL authorizer (ANONYMOUS a super user) so the
# ACL admin tests have something to talk to. Skipped, as not applicable to
# one Samsa broker: tests that run Kafka's shell tools (KAFKA_PATH: 0052,
# 0077, 0109, 0115, 0119), that create topics with replication factor 3
# (0103). The tests are told the broker is Kafka 4.0 (TEST_KAFKA_VERSION,
# which the environment may override), whose group configs and group
# ACL operations Samsa has; 0092 then skips itself (message format v1 is
# gone in 4.0), and passes with TEST_KAFKA_VERSION=3.7.0.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
src="${1:?usage: $0 /path/to/librdkafka [TESTS=...]}"
src="$(cd "$src" && pwd)"
shift
work="$(mktemp -d)"
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

if [ ! -x "$src/tests/test-runner" ]; then
	(cd "$src" && ./configure --disable-zstd --disable-lz4-ext --disable-gssapi --disable-curl --disable-sasl >/dev/null &&
		make -j"$(nproc)" libs >/dev/null && make -C tests -j"$(nproc)" test-runner >/dev/null)
fi
(cd "$root" && go build -o "$work/samsa" ./cmd/samsa)
"$work/samsa" serve --listen 127.0.0.1:9292 --data-dir "$work/data" --log-level warn \
	--set num.partitions=4 --set authorizer.class.name=kafka.security.authorizer.AclAuthorizer \
	--set super.users=User:ANONYMOUS > "$work/samsa.log" 2>&1 &
pid=$!
for _ in $(seq 50); do "$work/samsa" -b 127.0.0.1:9292 cluster info >/dev/null 2>&1 && break; sleep 0.1; done

cd "$src/tests"
conf="$work/test.conf"
echo "bootstrap.servers=127.0.0.1:9292" > "$conf"
status=0
env LD_LIBRARY_PATH="$src/src:$src/src-cpp" RDKAFKA_TEST_CONF="$conf" TEST_KAFKA_VERSION="${TEST_KAFKA_VERSION:-4.0.0}" \
	TESTS_SKIP=0052,0077,0103,0109,0115,0119 "$@" \
	./test-runner -Q -L -p2 > "$work/run.log" 2>&1 || status=$?
sed 's/\x1b\[[0-9;]*m//g' "$work/run.log" | grep -a '^| ' | grep -av 'SKIPPED\|DNS' || true
if [ "$status" -ne 0 ]; then
	sed 's/\x1b\[[0-9;]*m//g' "$work/run.log" | grep -a '###' >&2 || true
	echo "--- samsa log (last 50 lines)" >&2
	tail -50 "$work/samsa.log" >&2
fi
exit "$status"
