// roundtrip.js drives kafkajs against the broker in $BROKER for
// compat/kafkajs_test.go. Each mode prints one line "SUMMARY <json>" on
// stdout and exits non-zero on any error; kafkajs logs go to stderr.
//
// SSL_CA, SSL_CERT and SSL_KEY (PEM files), when set, make it connect over
// SSL with that client certificate.
//
//   node roundtrip.js produce TOPIC
//       creates TOPIC with 3 partitions through the admin client, then sends
//       1,000 keyed messages in 10 batches of 100 with acks -1 from an
//       idempotent producer; batch 3 is gzip-compressed.
//   node roundtrip.js consume TOPIC COUNT GROUP
//       reads TOPIC from the beginning with consumer group GROUP until COUNT
//       messages arrived, commits, leaves, and reports the group's offsets.
'use strict'

const { Kafka, CompressionTypes, logLevel } = require('kafkajs')

const BATCHES = 10
const BATCH_SIZE = 100
const GZIP_BATCH = 3
const PARTITIONS = 3
const KEYS = 37

// With SSL_CA, SSL_CERT and SSL_KEY set (PEM files) the client speaks SSL
// and authenticates with that client certificate.
function sslOptions() {
  const { SSL_CA: ca, SSL_CERT: cert, SSL_KEY: key } = process.env
  if (!ca) return undefined
  const fs = require('fs')
  return { ca: [fs.readFileSync(ca)], cert: fs.readFileSync(cert), key: fs.readFileSync(key) }
}

function kafkaClient(clientId) {
  const broker = process.env.BROKER
  if (!broker) throw new Error('BROKER is not set')
  return new Kafka({
    clientId,
    brokers: [broker],
    ssl: sslOptions(),
    logLevel: logLevel.WARN,
    // stdout carries only the summary line.
    logCreator: () => ({ namespace, level, label, log }) => {
      process.stderr.write(`${label} [${namespace}] ${JSON.stringify(log)}\n`)
    },
  })
}

function printSummary(summary) {
  process.stdout.write(`SUMMARY ${JSON.stringify(summary)}\n`)
}

async function produce(topic) {
  const kafka = kafkaClient('samsa-compat-produce')
  const admin = kafka.admin()
  await admin.connect()
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
    waitForLeaders: true,
  })
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] })

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const batches = []
  for (let b = 0; b < BATCHES; b++) {
    const first = b * BATCH_SIZE
    const messages = []
    for (let i = first; i < first + BATCH_SIZE; i++) {
      messages.push({ key: `key-${i % KEYS}`, value: String(i), headers: { seq: String(i) } })
    }
    const compression = b === GZIP_BATCH ? CompressionTypes.GZIP : CompressionTypes.None
    const results = await producer.send({ topic, acks: -1, compression, messages })
    batches.push({
      first,
      count: BATCH_SIZE,
      gzip: b === GZIP_BATCH,
      results: results.map(r => ({
        partition: r.partition,
        errorCode: r.errorCode,
        baseOffset: Number(r.baseOffset),
      })),
    })
  }
  await producer.disconnect()

  const offsets = await admin.fetchTopicOffsets(topic)
  await admin.disconnect()
  printSummary({
    topic,
    created,
    partitions: metadata.topics[0].partitions.map(p => ({
      partition: p.partitionId,
      leader: p.leader,
      errorCode: p.partitionErrorCode,
    })),
    batches,
    offsets: offsets.map(o => ({
      partition: o.partition,
      low: Number(o.low),
      high: Number(o.high),
    })),
  })
}

async function consume(topic, count, groupId) {
  const kafka = kafkaClient('samsa-compat-consume')
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 })
  const messages = []
  const lastOffset = new Map()
  let reachedCount
  const reached = new Promise(resolve => { reachedCount = resolve })
  let crashed
  const crash = new Promise((_, reject) => { crashed = reject })
  consumer.on(consumer.events.CRASH, e => crashed(e.payload.error))

  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      // Everything delivered is recorded, so the test can see duplicates.
      const offset = Number(message.offset)
      messages.push({ partition, offset, key: message.key.toString(), value: message.value.toString() })
      if (!lastOffset.has(partition) || lastOffset.get(partition) < offset) lastOffset.set(partition, offset)
      if (messages.length >= count) reachedCount()
    },
  })

  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out with ${messages.length} of ${count} messages`)), 45000)
  })
  try {
    await Promise.race([reached, crash, timeout])
  } finally {
    clearTimeout(timer)
  }

  // Commit the next offset to read, Kafka's convention.
  await consumer.commitOffsets([...lastOffset].map(([partition, offset]) => ({
    topic, partition, offset: String(offset + 1),
  })))
  await consumer.disconnect()

  const admin = kafka.admin()
  await admin.connect()
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] })
  const described = await admin.describeGroups([groupId])
  await admin.disconnect()
  printSummary({
    topic,
    groupId,
    messages,
    committed: committed[0].partitions.map(p => ({ partition: p.partition, offset: Number(p.offset) })),
    groupState: described.groups[0].state,
    groupErrorCode: described.groups[0].errorCode,
  })
}

async function main(argv) {
  const [mode, topic, ...rest] = argv
  if (mode === 'produce' && topic) return produce(topic)
  if (mode === 'consume' && topic && rest.length === 2) return consume(topic, Number(rest[0]), rest[1])
  throw new Error('usage: roundtrip.js produce TOPIC | consume TOPIC COUNT GROUP')
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  err => {
    process.stderr.write(`roundtrip.js failed: ${err && err.stack ? err.stack : err}\n`)
    process.exit(1)
  },
)
