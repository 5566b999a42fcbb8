"""Read a compacted topic with kafka-python or confluent-kafka
(compat/compaction_test.go): the offsets a cleaned log skips must not stall
the consumer. Then send one record without a key, which a compacted topic
refuses.

    python3 compacted.py kafka-python|confluent BROKER TOPIC END_OFFSET

Prints "SUMMARY {"records": [[offset, key, value or null]...], "keyless": ...}".
"""

import json
import sys
import time

TIMEOUT_S = 30


def text(b):
    return None if b is None else b.decode()


def kafka_python(broker, topic, end):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.errors import KafkaError

    consumer = KafkaConsumer(bootstrap_servers=[broker], group_id=None, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    records, deadline = [], time.monotonic() + TIMEOUT_S
    while not records or records[-1][0] < end - 1:
        if time.monotonic() > deadline:
            raise RuntimeError(f"read {len(records)} records, no offset {end - 1} within {TIMEOUT_S} s")
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend([r.offset, text(r.key), text(r.value)] for r in batch)
    consumer.close()
    producer = KafkaProducer(bootstrap_servers=[broker], acks="all", retries=0)
    try:
        producer.send(topic, value=b"no key").get(timeout=TIMEOUT_S)
        keyless = "ok"
    except KafkaError as err:
        # kafka-python 2.0.2 has no class for INVALID_RECORD (87): UnknownError.
        keyless = type(err).__name__
    producer.close(timeout=10)
    return records, keyless


def confluent(broker, topic, end):
    from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING

    consumer = Consumer({"bootstrap.servers": broker, "group.id": "samsa-compat-compacted", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    records, deadline = [], time.monotonic() + TIMEOUT_S
    while not records or records[-1][0] < end - 1:
        if time.monotonic() > deadline:
            raise RuntimeError(f"read {len(records)} records, no offset {end - 1} within {TIMEOUT_S} s")
        m = consumer.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise RuntimeError(str(m.error()))
        records.append([m.offset(), text(m.key()), text(m.value())])
    consumer.close()
    result = {}
    producer = Producer({"bootstrap.servers": broker, "acks": "all", "retries": 0})
    producer.produce(topic, value=b"no key", on_delivery=lambda err, _msg: result.update(err=err))
    producer.flush(TIMEOUT_S)
    err = result.get("err")
    keyless = "ok" if err is None else err.name()
    return records, keyless


def main():
    client, broker, topic, end = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    records, keyless = {"kafka-python": kafka_python, "confluent": confluent}[client](broker, topic, end)
    print("SUMMARY " + json.dumps({"records": records, "keyless": keyless}), flush=True)


if __name__ == "__main__":
    main()
