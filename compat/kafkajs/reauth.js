// reauth.js produces with kafkajs over SASL/PLAIN for longer than the
// broker's session lifetime (connections.max.reauth.ms), so kafkajs must
// re-authenticate its connections (KIP-368; compat/security_test.go).
//
//   BROKER=host:port USER_NAME=u USER_PASSWORD=p node reauth.js TOPIC SECONDS
//
// Prints "SUMMARY {...}": how many sends succeeded and the first error.
'use strict'

const { Kafka, logLevel } = require('kafkajs')

async function main() {
  const [topic, seconds] = process.argv.slice(2)
  const kafka = new Kafka({
    clientId: 'samsa-compat-reauth',
    brokers: [process.env.BROKER],
    sasl: { mechanism: 'plain', username: process.env.USER_NAME, password: process.env.USER_PASSWORD },
    // Re-authenticate a second before the session ends (default 10 s).
    reauthenticationThreshold: 1000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  })
  const producer = kafka.producer({ allowAutoTopicCreation: true })
  await producer.connect()
  const summary = { Sent: 0, Error: '' }
  const end = Date.now() + Number(seconds) * 1000
  try {
    while (Date.now() < end) {
      await producer.send({ topic, messages: [{ value: `click ${summary.Sent}` }] })
      summary.Sent++
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  } catch (err) {
    summary.Error = String(err && err.message)
  }
  await producer.disconnect()
  console.log('SUMMARY ' + JSON.stringify(summary))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
