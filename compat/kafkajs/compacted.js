// compacted.js reads a compacted topic with kafkajs (compat/compaction_test.go):
// the offsets a cleaned log skips must not stall the consumer. It then sends
// one record without a key, which a compacted topic refuses.
//
//   BROKER=host:port node compacted.js TOPIC END_OFFSET
//
// Prints "SUMMARY {records: [[offset, key, value or null]...], keyless: ...}".
'use strict'

const { Kafka, logLevel } = require('kafkajs')

async function main() {
  const [topic, endArg] = process.argv.slice(2)
  const end = BigInt(endArg)
  const kafka = new Kafka({ clientId: 'samsa-compat-compacted', brokers: [process.env.BROKER], logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: 'samsa-compat-compacted-' + process.pid })
  const records = []
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${records.length} records, no offset ${end - 1n} within 30 s`)), 30000)
    consumer.run({
      eachMessage: async ({ message }) => {
        records.push([Number(message.offset), message.key && message.key.toString(), message.value && message.value.toString()])
        if (BigInt(message.offset) >= end - 1n) {
          clearTimeout(timer)
          resolve()
        }
      },
    })
  })
  await done
  await consumer.disconnect()

  const producer = kafka.producer({ retry: { retries: 0 } })
  await producer.connect()
  let keyless = 'ok'
  try {
    await producer.send({ topic, acks: -1, messages: [{ value: 'no key' }] })
  } catch (err) {
    keyless = err.type || String(err.message)
  }
  await producer.disconnect()
  console.log('SUMMARY ' + JSON.stringify({ records, keyless }))
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
