// offsets.js prints the offsets of a topic as kafkajs's admin client sees
// them: "SUMMARY [{partition, low, high}]". The broker comes from $BROKER.
//
//   node offsets.js TOPIC
'use strict'

const { Kafka, logLevel } = require('kafkajs')

async function main(topic) {
  if (!topic) throw new Error('usage: offsets.js TOPIC')
  const broker = process.env.BROKER
  if (!broker) throw new Error('BROKER is not set')
  const kafka = new Kafka({
    clientId: 'samsa-compat-offsets',
    brokers: [broker],
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, label, log }) => {
      process.stderr.write(`${label} [${namespace}] ${JSON.stringify(log)}\n`)
    },
  })
  const admin = kafka.admin()
  await admin.connect()
  try {
    const offsets = await admin.fetchTopicOffsets(topic)
    const summary = offsets.map(o => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }))
    process.stdout.write(`SUMMARY ${JSON.stringify(summary)}\n`)
  } finally {
    await admin.disconnect()
  }
}

main(process.argv[2]).then(
  () => process.exit(0),
  err => {
    process.stderr.write(`offsets.js failed: ${err && err.stack ? err.stack : err}\n`)
    process.exit(1)
  },
)
