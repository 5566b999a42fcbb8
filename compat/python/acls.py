"""ACLs through Python clients (compat/acl_test.go), over SASL_PLAINTEXT
with PLAIN.

    python3 acls.py kafka-python BROKER ADMIN ADMIN_PW USER USER_PW ALLOWED DENIED
    python3 acls.py confluent-produce BROKER USER USER_PW TOPIC

kafka-python: as ADMIN, creates WRITE and DESCRIBE on ALLOWED for USER,
describes them, produces as USER to ALLOWED and DENIED, deletes the ACLs
and produces again. confluent-produce: produces one record as USER and
reports the error librdkafka gives. Prints "SUMMARY {...}".
"""

import json
import sys
import time

TIMEOUT_S = 20


def kafka_python_produce(broker, user, password, topic):
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    producer = KafkaProducer(bootstrap_servers=[broker], acks="all", security_protocol="SASL_PLAINTEXT",
                             sasl_mechanism="PLAIN", sasl_plain_username=user, sasl_plain_password=password,
                             max_block_ms=3000, retries=0)
    try:
        producer.send(topic, value=b"v").get(timeout=TIMEOUT_S)
        return "ok"
    except KafkaError as err:
        # kafka-python 2.0.2 waits out max_block_ms when the one topic it
        # asks about is refused (it never records the topic as
        # unauthorized): ask the broker why, with its own Metadata request.
        return type(err).__name__ + "/" + kafka_python_metadata_error(broker, user, password, topic)
    finally:
        producer.close(timeout=5)


def kafka_python_metadata_error(broker, user, password, topic):
    from kafka.client_async import KafkaClient
    from kafka.errors import for_code
    from kafka.protocol.metadata import MetadataRequest

    client = KafkaClient(bootstrap_servers=[broker], security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                         sasl_plain_username=user, sasl_plain_password=password)
    try:
        deadline = time.time() + TIMEOUT_S
        node = client.least_loaded_node()
        while not client.ready(node) and time.time() < deadline:
            client.poll(timeout_ms=100)
        future = client.send(node, MetadataRequest[1]([topic]))
        client.poll(future=future, timeout_ms=TIMEOUT_S * 1000)
        if not future.is_done or future.failed():
            return "metadata request failed"
        return for_code(future.value.topics[0][0]).__name__
    finally:
        client.close()


def kafka_python(broker, admin_user, admin_pw, user, user_pw, allowed, denied):
    from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                             KafkaAdminClient, ResourcePattern, ResourcePatternFilter, ResourceType)

    admin = KafkaAdminClient(bootstrap_servers=[broker], security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                             sasl_plain_username=admin_user, sasl_plain_password=admin_pw)
    principal = "User:" + user
    summary = {"before": kafka_python_produce(broker, user, user_pw, allowed)}
    pattern = ResourcePattern(ResourceType.TOPIC, allowed, ACLResourcePatternType.LITERAL)
    created = admin.create_acls([ACL(principal, "*", op, ACLPermissionType.ALLOW, pattern)
                                 for op in (ACLOperation.WRITE, ACLOperation.DESCRIBE)])
    summary["created"] = len(created["succeeded"])
    summary["create_failed"] = [str(f) for f in created["failed"]]
    acls, err = admin.describe_acls(ACLFilter(principal, None, ACLOperation.ANY, ACLPermissionType.ANY,
                                              ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)))
    summary["describe_error"] = type(err).__name__ if err.errno else None
    summary["described"] = sorted(f"{a.resource_pattern.resource_type.name}:{a.resource_pattern.resource_name}:{a.operation.name}"
                                  for a in acls)
    summary["allowed"] = kafka_python_produce(broker, user, user_pw, allowed)
    summary["denied"] = kafka_python_produce(broker, user, user_pw, denied)
    results = admin.delete_acls([ACLFilter(principal, "*", ACLOperation.ANY, ACLPermissionType.ANY,
                                           ResourcePatternFilter(ResourceType.TOPIC, allowed, ACLResourcePatternType.LITERAL))])
    summary["deleted"] = sum(len(deleted) for _, deleted, _ in results)
    summary["after"] = kafka_python_produce(broker, user, user_pw, allowed)
    admin.close()
    return summary


def confluent_produce(broker, user, password, topic):
    from confluent_kafka import Producer

    errors = []
    delivered = []
    producer = Producer({"bootstrap.servers": broker, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "PLAIN",
                         "sasl.username": user, "sasl.password": password, "acks": "all",
                         "message.timeout.ms": 10000, "error_cb": errors.append})
    producer.produce(topic, value=b"v", on_delivery=lambda err, msg: delivered.append(err))
    deadline = time.time() + TIMEOUT_S
    while not delivered and time.time() < deadline:
        producer.poll(0.1)
    producer.flush(5)
    if not delivered:
        return {"result": "no delivery report", "errors": [str(e) for e in errors]}
    err = delivered[0]
    return {"result": "ok" if err is None else err.name()}


def main(argv):
    if len(argv) == 9 and argv[1] == "kafka-python":
        summary = kafka_python(*argv[2:])
    elif len(argv) == 6 and argv[1] == "confluent-produce":
        summary = confluent_produce(*argv[2:])
    else:
        sys.exit(__doc__)
    print("SUMMARY " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main(sys.argv)
