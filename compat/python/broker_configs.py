"""Set a dynamic broker config with kafka-python or confluent-kafka
(compat/broker_configs_test.go): AlterConfigs on this broker's BROKER
resource sets log.retention.ms to VALUE, DescribeConfigs reads it back, and
a config the broker reads at start-up only (num.partitions) is refused.

    python3 broker_configs.py kafka-python|confluent BROKER NODE_ID VALUE

Prints "SUMMARY {"value": ..., "source": ..., "refused": ...}".
"""

import json
import sys

TIMEOUT_S = 30


def kafka_python(broker, node, value):
    from kafka.admin import KafkaAdminClient, ConfigResource, ConfigResourceType
    from kafka.errors import for_code

    admin = KafkaAdminClient(bootstrap_servers=[broker], request_timeout_ms=TIMEOUT_S * 1000)

    def alter(configs):
        resp = admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, node, configs=configs)])
        code = resp.resources[0][0]
        return "ok" if code == 0 else for_code(code).__name__

    if alter({"log.retention.ms": value}) != "ok":
        raise RuntimeError("AlterConfigs on the broker refused")
    refused = alter({"num.partitions": "3"})
    # The refused request replaced nothing: set the value again (AlterConfigs
    # replaces the resource's whole set) before reading it back.
    alter({"log.retention.ms": value})
    resp = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, node, configs={"log.retention.ms": None})])
    # v0 response rows: (name, value, read_only, is_default, is_sensitive);
    # v1+: (name, value, read_only, source, is_sensitive, synonyms).
    resource = resp[0].resources[0]
    if resource[0] != 0:
        raise RuntimeError(f"DescribeConfigs error {resource[0]}")
    entry = resource[4][0]
    admin.close()
    return {"value": entry[1], "source": entry[3], "refused": refused}


def confluent(broker, node, value):
    from confluent_kafka.admin import AdminClient, ConfigResource

    admin = AdminClient({"bootstrap.servers": broker})

    def alter(configs):
        futures = admin.alter_configs([ConfigResource("broker", node, set_config=configs)], request_timeout=TIMEOUT_S)
        try:
            for f in futures.values():
                f.result(timeout=TIMEOUT_S)
            return "ok"
        except Exception as err:  # KafkaException wrapping a KafkaError
            return err.args[0].name() if err.args and hasattr(err.args[0], "name") else repr(err)

    if alter({"log.retention.ms": value}) != "ok":
        raise RuntimeError("AlterConfigs on the broker refused")
    refused = alter({"num.partitions": "3"})
    alter({"log.retention.ms": value})
    futures = admin.describe_configs([ConfigResource("broker", node)], request_timeout=TIMEOUT_S)
    configs = list(futures.values())[0].result(timeout=TIMEOUT_S)
    entry = configs["log.retention.ms"]
    return {"value": entry.value, "source": entry.source, "refused": refused}


def main():
    client, broker, node, value = sys.argv[1:5]
    summary = {"kafka-python": kafka_python, "confluent": confluent}[client](broker, node, value)
    print("SUMMARY " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
