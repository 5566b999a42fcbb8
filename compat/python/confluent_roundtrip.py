"""Produce and read back keyed records with confluent-kafka (librdkafka) for
compat/python_test.go.

    python3 confluent_roundtrip.py BROKER TOPIC COUNT

Sends COUNT records (key "key-<i mod 37>", value "<i>") from an idempotent
producer with acks=all, then reads every partition of TOPIC from the
beginning with assign() at OFFSET_BEGINNING. librdkafka insists on a
group.id, but assign() never joins the group and nothing is committed.
Prints one line "SUMMARY <json>" shaped like kafka_python_roundtrip.py's.
Exits non-zero on any error.
"""

import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

KEYS = 37
READ_TIMEOUT_S = 45


def produce(broker, topic, count):
    producer = Producer({
        "bootstrap.servers": broker,
        "client.id": "samsa-compat-confluent",
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
    })
    acked = []
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(f"{msg.value().decode()}: {err}")
        else:
            acked.append({"partition": msg.partition(), "offset": msg.offset(), "value": msg.value().decode()})

    for i in range(count):
        producer.produce(topic, key=f"key-{i % KEYS}", value=str(i), on_delivery=on_delivery)
        producer.poll(0)
    remaining = producer.flush(30)
    if remaining or errors:
        raise RuntimeError(f"{remaining} records undelivered; delivery errors: {errors[:5]}")
    return acked


def consume(broker, topic, count):
    consumer = Consumer({
        "bootstrap.servers": broker,
        "client.id": "samsa-compat-confluent",
        "group.id": "samsa-compat-confluent-unused",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
    })
    metadata = consumer.list_topics(topic, timeout=10)
    described = metadata.topics[topic]
    if described.error is not None:
        raise KafkaException(described.error)
    partitions = sorted(described.partitions)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    consumed = []
    deadline = time.monotonic() + READ_TIMEOUT_S
    while len(consumed) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"read {len(consumed)} of {count} records in {READ_TIMEOUT_S} s")
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            raise KafkaException(msg.error())
        consumed.append({
            "partition": msg.partition(),
            "offset": msg.offset(),
            "key": msg.key().decode(),
            "value": msg.value().decode(),
        })
    consumer.close()
    return consumed, partitions


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: confluent_roundtrip.py BROKER TOPIC COUNT")
    broker, topic, count = argv[1], argv[2], int(argv[3])
    acked = produce(broker, topic, count)
    consumed, partitions = consume(broker, topic, count)
    print("SUMMARY " + json.dumps({"acked": acked, "consumed": consumed, "partitions": partitions}))


if __name__ == "__main__":
    main(sys.argv)
