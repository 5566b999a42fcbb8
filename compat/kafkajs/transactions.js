// transactions.js runs kafkajs's transactional producer against the broker in
// $BROKER and prints what it saw as "SUMMARY <json>":
//
//   node transactions.js TOPIC GROUP
//
//  1. a committed transaction of c0..c19, an aborted one of a0..a9, and a
//     committed one of d0..d4 that also commits offset 7 of TOPIC-0 for GROUP
//     (sendOffsets); then an aborted one that sends offset 99 and "x"
//  2. fencing: producer A opens a transaction and sends "z"; producer B with
//     the same transactional id connects (fencing A, aborting its
//     transaction) and commits "f"; A's commit must fail
//  3. a kafkajs consumer (read_committed, kafkajs's default) reads TOPIC from
//     the beginning until it has the committed values, then a second more
//  4. the admin client's view of GROUP's committed offsets
'use strict'

const { Kafka, logLevel } = require('kafkajs')

const committedCount = 20 + 5 + 1 // c*, d*, f

async function main(topic, group) {
  if (!topic || !group) throw new Error('usage: transactions.js TOPIC GROUP')
  const broker = process.env.BROKER
  if (!broker) throw new Error('BROKER is not set')
  const kafka = new Kafka({
    clientId: 'samsa-compat-txn',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
  })
  const newProducer = () => kafka.producer({
    transactionalId: 'kjs-tx',
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 30000,
  })
  const values = (prefix, n) => Array.from({ length: n }, (_, i) => ({ value: `${prefix}${i}` }))

  const producer = newProducer()
  await producer.connect()
  let tx = await producer.transaction()
  await tx.send({ topic, messages: values('c', 20) })
  await tx.commit()

  tx = await producer.transaction()
  await tx.send({ topic, messages: values('a', 10) })
  await tx.abort()

  tx = await producer.transaction()
  await tx.send({ topic, messages: values('d', 5) })
  await tx.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: '7' }] }] })
  await tx.commit()

  tx = await producer.transaction()
  await tx.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: '99' }] }] })
  await tx.send({ topic, messages: [{ value: 'x' }] })
  await tx.abort()
  await producer.disconnect()

  // Fencing.
  const a = newProducer()
  await a.connect()
  const txA = await a.transaction()
  await txA.send({ topic, messages: [{ value: 'z' }] })
  const b = newProducer()
  await b.connect()
  const txB = await b.transaction()
  await txB.send({ topic, messages: [{ value: 'f' }] })
  await txB.commit()
  let fencedError = ''
  try {
    await txA.commit()
  } catch (err) {
    fencedError = err.type || err.name || String(err)
  }
  await a.disconnect().catch(() => {})
  await b.disconnect()

  // read_committed consumer.
  const consumer = kafka.consumer({ groupId: `${group}-reader`, readUncommitted: false })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const consumed = []
  let resolveEnough
  const enough = new Promise(resolve => { resolveEnough = resolve })
  await consumer.run({
    eachMessage: async ({ message }) => {
      consumed.push(message.value.toString())
      if (consumed.length >= committedCount) resolveEnough()
    },
  })
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`consumer got ${consumed.length} of ${committedCount}: ${consumed}`)), 30000))
  await Promise.race([enough, timeout])
  await new Promise(resolve => setTimeout(resolve, 1000)) // anything more would be wrong
  await consumer.disconnect()

  const admin = kafka.admin()
  await admin.connect()
  const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] })
  await admin.disconnect()
  const groupOffsets = {}
  for (const t of offsets) {
    for (const p of t.partitions) groupOffsets[p.partition] = Number(p.offset)
  }

  process.stdout.write(`SUMMARY ${JSON.stringify({ consumed, fencedError, groupOffsets })}\n`)
}

main(process.argv[2], process.argv[3]).then(
  () => process.exit(0),
  err => {
    process.stderr.write(`transactions.js failed: ${err && err.stack ? err.stack : err}\n`)
    process.exit(1)
  },
)
