"""Produce and read back records over SASL_SSL, or SSL with a client
certificate, with a Python client (compat/security_test.go).

    python3 sasl_roundtrip.py CLIENT BROKER TOPIC MECHANISM USER PASSWORD CAFILE

CLIENT is kafka-python or confluent-kafka. MECHANISM SSL means a client
certificate on an SSL listener: USER is then its PEM file and PASSWORD its
key's. Sends 10 records with acks=all,
then reads the topic's partition 0 from the beginning until it has them.
Prints "SUMMARY {"consumed": [values...]}"; exits non-zero on any error
(a failed authentication included).
"""

import json
import sys
import time

COUNT = 10
TIMEOUT_S = 30


def kafka_python(broker, topic, mechanism, user, password, cafile):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    if mechanism == "SSL":
        security = dict(security_protocol="SSL", ssl_certfile=user, ssl_keyfile=password,
                        ssl_cafile=cafile, ssl_check_hostname=False)
    else:
        security = dict(security_protocol="SASL_SSL", sasl_mechanism=mechanism,
                        sasl_plain_username=user, sasl_plain_password=password,
                        ssl_cafile=cafile, ssl_check_hostname=False)
    producer = KafkaProducer(bootstrap_servers=[broker], acks="all", **security)
    futures = [producer.send(topic, partition=0, value=f"secure-{i}".encode()) for i in range(COUNT)]
    producer.flush(timeout=TIMEOUT_S)
    for f in futures:
        f.get(timeout=TIMEOUT_S)
    producer.close(timeout=10)
    consumer = KafkaConsumer(bootstrap_servers=[broker], group_id=None, enable_auto_commit=False,
                             consumer_timeout_ms=TIMEOUT_S * 1000, **security)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    values = []
    for msg in consumer:
        values.append(msg.value.decode())
        if len(values) >= COUNT:
            break
    consumer.close()
    return values


def confluent(broker, topic, mechanism, user, password, cafile):
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

    if mechanism == "SSL":
        security = {"bootstrap.servers": broker, "security.protocol": "SSL", "ssl.ca.location": cafile,
                    "ssl.certificate.location": user, "ssl.key.location": password}
    else:
        security = {"bootstrap.servers": broker, "security.protocol": "SASL_SSL", "sasl.mechanisms": mechanism,
                    "sasl.username": user, "sasl.password": password, "ssl.ca.location": cafile}
    errors = []
    producer = Producer({**security, "acks": "all", "error_cb": errors.append})
    delivered = []
    for i in range(COUNT):
        producer.produce(topic, partition=0, value=f"secure-{i}".encode(),
                         on_delivery=lambda err, msg: delivered.append(err))
    deadline = time.time() + TIMEOUT_S
    while len(delivered) < COUNT and not errors and time.time() < deadline:
        producer.poll(0.1)  # an authentication failure arrives via error_cb
    if errors:
        raise KafkaException(errors[0])
    if len(delivered) != COUNT or any(delivered):
        raise RuntimeError(f"deliveries: {delivered}")
    consumer = Consumer({**security, "group.id": "sasl-roundtrip", "enable.auto.commit": False,
                         "error_cb": errors.append})
    consumer.assign([TopicPartition(topic, 0, 0)])
    values = []
    deadline = time.time() + TIMEOUT_S
    while len(values) < COUNT and time.time() < deadline:
        if errors:
            raise KafkaException(errors[0])
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            raise KafkaException(msg.error())
        values.append(msg.value().decode())
    consumer.close()
    return values


def main():
    client, broker, topic, mechanism, user, password, cafile = sys.argv[1:8]
    run = {"kafka-python": kafka_python, "confluent-kafka": confluent}[client]
    values = run(broker, topic, mechanism, user, password, cafile)
    print("SUMMARY " + json.dumps({"consumed": values}))
    if len(values) < COUNT:
        sys.exit(f"read {len(values)} of {COUNT} records")


if __name__ == "__main__":
    main()
