"""Produce and read back keyed records with kafka-python (compat/python_test.go).

    python3 kafka_python_roundtrip.py BROKER TOPIC COUNT

Sends COUNT records (key "key-<i mod 37>", value "<i>") with acks=1, then
reads every partition of TOPIC from the beginning with assign() and
seek_to_beginning() (no consumer group). Prints one line "SUMMARY <json>":
{"acked": [{partition, offset, value}...], "consumed": [{partition, offset,
key, value}...], "partitions": [...]}. Exits non-zero on any error.
"""

import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

KEYS = 37
READ_TIMEOUT_S = 45


def produce(broker, topic, count):
    producer = KafkaProducer(bootstrap_servers=[broker], acks=1, client_id="samsa-compat-kafka-python")
    futures = []
    for i in range(count):
        futures.append((i, producer.send(topic, key=f"key-{i % KEYS}".encode(), value=str(i).encode())))
    producer.flush(timeout=30)
    acked = []
    for i, future in futures:
        metadata = future.get(timeout=30)
        acked.append({"partition": metadata.partition, "offset": metadata.offset, "value": str(i)})
    producer.close(timeout=10)
    return acked


def consume(broker, topic, count):
    consumer = KafkaConsumer(
        bootstrap_servers=[broker],
        group_id=None,
        enable_auto_commit=False,
        client_id="samsa-compat-kafka-python",
    )
    deadline = time.monotonic() + READ_TIMEOUT_S
    partitions = consumer.partitions_for_topic(topic)
    while not partitions:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no partitions for {topic}")
        time.sleep(0.1)
        partitions = consumer.partitions_for_topic(topic)
    assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(assigned)
    consumer.seek_to_beginning(*assigned)
    consumed = []
    while len(consumed) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"read {len(consumed)} of {count} records in {READ_TIMEOUT_S} s")
        for tp, records in consumer.poll(timeout_ms=500).items():
            for r in records:
                consumed.append({
                    "partition": tp.partition,
                    "offset": r.offset,
                    "key": r.key.decode(),
                    "value": r.value.decode(),
                })
    consumer.close()
    return consumed, sorted(partitions)


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: kafka_python_roundtrip.py BROKER TOPIC COUNT")
    broker, topic, count = argv[1], argv[2], int(argv[3])
    acked = produce(broker, topic, count)
    consumed, partitions = consume(broker, topic, count)
    print("SUMMARY " + json.dumps({"acked": acked, "consumed": consumed, "partitions": partitions}))


if __name__ == "__main__":
    main(sys.argv)
