"""Transactions with confluent-kafka (librdkafka) for compat/librdkafka_txn_test.go.

    python3 confluent_transactions.py BROKER TOPIC IN OUT GROUP IN_COUNT

1. On TOPIC: a committed transaction of c0..c19, an aborted one of a0..a9,
   a committed one of d0..d4.
2. Consume-transform-produce from IN (filled by the Go test) to OUT with a
   read_committed consumer in GROUP: one committed round that copies every
   record of IN as "out-<value>" and commits the consumer's offsets in the
   transaction (send_offsets_to_transaction), then an aborted round that
   reprocesses IN into "bad-<value>" and sends offsets 100 past the end.
3. Fencing: producer A opens a transaction and sends "z" to TOPIC; producer
   B with the same transactional.id runs init_transactions; A's commit must
   fail. B commits "f".
4. A read_committed consumer reads TOPIC from the beginning.

Prints one line "SUMMARY <json>"; exits non-zero on any other error.
"""

import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

TIMEOUT_S = 30


def producer(broker, txn_id):
    p = Producer({
        "bootstrap.servers": broker,
        "client.id": "samsa-compat-confluent-txn",
        "transactional.id": txn_id,
        "transaction.timeout.ms": 30000,
        "linger.ms": 5,
    })
    p.init_transactions(TIMEOUT_S)
    return p


def send_txn(p, topic, values, commit):
    p.begin_transaction()
    for v in values:
        p.produce(topic, value=v)
    if commit:
        p.commit_transaction(TIMEOUT_S)
    else:
        p.flush(TIMEOUT_S)  # the records reach the log before the abort
        p.abort_transaction(TIMEOUT_S)


def read_committed(broker, topic, group, want):
    """Reads topic from the beginning until want records or the timeout."""
    c = Consumer({
        "bootstrap.servers": broker,
        "group.id": group,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    md = c.list_topics(topic, timeout=10)
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in md.topics[topic].partitions])
    values = []
    deadline = time.time() + TIMEOUT_S
    settle = None
    while time.time() < deadline:
        msg = c.poll(0.2)
        if msg is None:
            if settle is not None and time.time() > settle:
                break
            continue
        if msg.error():
            raise KafkaException(msg.error())
        values.append(msg.value().decode())
        if len(values) >= want and settle is None:
            settle = time.time() + 1.0  # anything more would be wrong
    c.close()
    return values


def transform(broker, in_topic, out_topic, group, in_count):
    c = Consumer({
        "bootstrap.servers": broker,
        "group.id": group,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    c.subscribe([in_topic])
    p = producer(broker, "confluent-eos")

    def round_(prefix, commit, want, offset_shift=0):
        p.begin_transaction()
        n = 0
        deadline = time.time() + TIMEOUT_S
        while n < want and time.time() < deadline:
            msg = c.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            p.produce(out_topic, value=prefix + msg.value().decode())
            n += 1
        if n < want:
            raise RuntimeError(f"consumed {n} of {want} records of {in_topic}")
        positions = c.position(c.assignment())
        for tp in positions:
            tp.offset += offset_shift
        p.send_offsets_to_transaction(positions, c.consumer_group_metadata(), TIMEOUT_S)
        if commit:
            p.commit_transaction(TIMEOUT_S)
        else:
            p.flush(TIMEOUT_S)
            p.abort_transaction(TIMEOUT_S)
        return n

    committed = round_("out-", True, in_count)
    # The aborted round reprocesses IN from the start and sends offsets past
    # the end, which must not become the group's.
    for tp in c.assignment():
        c.seek(TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING))
    aborted = round_("bad-", False, in_count, offset_shift=100)
    c.close()
    return committed, aborted


def main(broker, topic, in_topic, out_topic, group, in_count):
    p = producer(broker, "confluent-tx")
    send_txn(p, topic, [f"c{i}" for i in range(20)], True)
    send_txn(p, topic, [f"a{i}" for i in range(10)], False)
    send_txn(p, topic, [f"d{i}" for i in range(5)], True)

    transformed, aborted_round = transform(broker, in_topic, out_topic, group, in_count)

    a = producer(broker, "confluent-fence")
    a.begin_transaction()
    a.produce(topic, value="z")
    a.flush(TIMEOUT_S)
    b = producer(broker, "confluent-fence")
    fenced = ""
    try:
        a.commit_transaction(TIMEOUT_S)
    except KafkaException as e:
        err = e.args[0]
        fenced = err.name() if err.fatal() or not err.retriable() else "retriable:" + err.name()
    send_txn(b, topic, ["f"], True)

    consumed = read_committed(broker, topic, "confluent-txn-reader", 26)
    print("SUMMARY " + json.dumps({
        "consumed": consumed,
        "transformed": transformed,
        "abortedRound": aborted_round,
        "fencedError": fenced,
    }))


if __name__ == "__main__":
    if len(sys.argv) != 7:
        sys.exit("usage: confluent_transactions.py BROKER TOPIC IN OUT GROUP IN_COUNT")
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
