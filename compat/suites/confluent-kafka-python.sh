#!/usr/bin/env bash
# Runs confluent-kafka-python's own integration tests (tests/integration:
# admin, consumer, producer and transactions, serialization) against Samsa,
# once with the classic group protocol and once with KIP-848's
# (TEST_CONSUMER_GROUP_PROTOCOL=consumer), each against a fresh broker set up
# as the suite's trivup cluster sets up Kafka: 3 partitions per auto-created
# topic, the ACL authorizer with super.users=User:admin and
# allow.everyone.if.no.acl.found=true, and a SASL_PLAINTEXT listener with the
# PLAIN user sasl_user/sasl_user that trivup's SASL cluster has. Not part of
# make test: it needs a confluent-kafka-python source tree whose C extension
# is built (PyPI is not reachable from CI) and trivup importable (the test
# fixtures import it even when they do not start a cluster). It takes about
# four minutes and ports 9711 (PLAINTEXT) and 9712 (SASL_PLAINTEXT).
#
#   PYTHONPATH=/path/to/trivup compat/suites/confluent-kafka-python.sh /path/to/confluent-kafka-python [pytest args]
#
# The tests use the broker through the suite's bring-your-own-cluster mode
# (BROKERS). test_describe_operations always starts a trivup SASL cluster, so
# it runs unchanged from a module that gives it a bring-your-own one. The
# cluster default min.insync.replicas=1 is set dynamically, as Kafka 4.1+
# writes it at controller activation (KIP-966), which
# test_incremental_alter_configs expects. Not run: the schema registry tests
# (no schema registry) and the share consumer tests (Samsa has no share
# groups, docs/UNSUPPORTED.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
src="${1:?usage: $0 /path/to/confluent-kafka-python [pytest args]}"
src="$(cd "$src" && pwd)"
shift
python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/samsa" ./cmd/samsa)

cat > "$work/server.properties" <<'PROPS'
listeners=PLAINTEXT://127.0.0.1:9711,SASL_PLAINTEXT://127.0.0.1:9712
num.partitions=3
auto.create.topics.enable=true
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=true
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin" user_admin="admin" user_sasl_user="sasl_user";
PROPS

cat > "$work/test_describe_operations_byo.py" <<'PY'
# test_describe_operations, unchanged, with the sasl_cluster fixture (which
# upstream always builds with trivup) replaced by a bring-your-own cluster
# with the SASL settings trivup gives its clients.
import pytest
from tests.integration.cluster_fixture import ByoFixture
from tests.integration.admin.test_describe_operations import test_describe_operations  # noqa: F401


@pytest.fixture(scope="session")
def sasl_cluster():
    yield ByoFixture({
        'bootstrap.servers': '127.0.0.1:9712',
        'security.protocol': 'SASL_PLAINTEXT',
        'sasl.mechanisms': 'PLAIN',
        'sasl.username': 'sasl_user',
        'sasl.password': 'sasl_user',
    })
PY

status=0
for protocol in classic consumer; do
	rm -rf "$work/data"
	"$work/samsa" serve --config "$work/server.properties" --data-dir "$work/data" --log-level warn \
		> "$work/samsa-$protocol.log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do "$work/samsa" -b 127.0.0.1:9711 cluster info >/dev/null 2>&1 && break; sleep 0.1; done
	"$work/samsa" -b 127.0.0.1:9711 cluster alter-config --default --set min.insync.replicas=1 >/dev/null
	echo "--- group protocol $protocol" >&2
	run=0
	(cd "$src" && env PYTHONPATH="$src/src:$src${PYTHONPATH:+:$PYTHONPATH}" BROKERS=127.0.0.1:9711 \
		TEST_CONSUMER_GROUP_PROTOCOL="$protocol" "$python" -m pytest -v -p no:cacheprovider \
		tests/integration/admin tests/integration/consumer tests/integration/producer \
		tests/integration/serialization tests/integration/integration_test.py "$work/test_describe_operations_byo.py" \
		--deselect tests/integration/admin/test_describe_operations.py::test_describe_operations \
		"$@") || run=$?
	kill "$pid" && wait "$pid" 2>/dev/null || true
	if [ "$run" -ne 0 ]; then
		status=$run
		echo "--- samsa log (last 50 lines)" >&2
		tail -50 "$work/samsa-$protocol.log" >&2
	fi
done
exit "$status"
