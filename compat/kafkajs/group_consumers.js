// group_consumers.js runs several kafkajs consumers in one consumer group
// for compat/kafkajs_group_test.go. Environment:
//
//   BROKER     host:port of the broker
//   TOPIC      the topic to consume (it must exist)
//   GROUP      the consumer group
//   EXPECTED   how many messages to wait for, all consumers together
//   CONSUMERS  how many consumers to run (default 3)
//
// It prints "READY <json>" on stdout once every consumer has joined and
// their latest assignments (GROUP_JOIN events) cover each partition exactly
// once, so the test can produce knowing no rebalance is pending. It then
// consumes until EXPECTED messages arrived in total, disconnects every
// consumer (kafkajs commits after each batch, so the offsets are committed)
// and prints "SUMMARY <json>": per consumer its member id, the partitions of
// its latest assignment, how often it joined, how many messages it got and
// from which partitions; and every value received, in arrival order.
// kafkajs logs go to stderr; any error exits non-zero.
'use strict'

const { Kafka, logLevel } = require('kafkajs')

const READY_TIMEOUT_MS = 30000
const CONSUME_TIMEOUT_MS = 45000

function env(name, fallback) {
  const value = process.env[name] || fallback
  if (!value) throw new Error(`${name} is not set`)
  return value
}

// printLine writes a line to stdout and resolves once it is handed to the
// pipe: process.exit does not wait for pending pipe writes, and the summary
// is larger than a pipe's buffer.
function printLine(line) {
  return new Promise(resolve => process.stdout.write(`${line}\n`, resolve))
}

// deadline rejects after ms unless the returned cancel is called first.
function deadline(ms, what) {
  let timer
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what()}`)), ms)
  })
  return { promise, cancel: () => clearTimeout(timer) }
}

async function main() {
  const broker = env('BROKER')
  const topic = env('TOPIC')
  const groupId = env('GROUP')
  const expected = Number(env('EXPECTED'))
  const count = Number(env('CONSUMERS', '3'))

  const kafka = new Kafka({
    clientId: 'samsa-compat-group',
    brokers: [broker],
    logLevel: logLevel.WARN,
    // stdout carries only the READY and SUMMARY lines.
    logCreator: () => ({ namespace, label, log }) => {
      process.stderr.write(`${label} [${namespace}] ${JSON.stringify(log)}\n`)
    },
  })

  const admin = kafka.admin()
  await admin.connect()
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] })
  await admin.disconnect()
  const partitionCount = metadata.topics[0].partitions.length

  const values = []
  let signalDone, signalChange, fail
  const done = new Promise(resolve => { signalDone = resolve })
  const failed = new Promise((_, reject) => { fail = reject })
  failed.catch(() => {}) // handled where it is awaited; not "unhandled" before that
  let changed = new Promise(resolve => { signalChange = resolve })
  const notify = () => {
    signalChange()
    changed = new Promise(resolve => { signalChange = resolve })
  }

  const members = []
  for (let i = 0; i < count; i++) {
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 })
    const member = { consumer, memberId: '', assigned: [], joins: 0, count: 0, received: new Set() }
    consumer.on(consumer.events.GROUP_JOIN, e => {
      member.memberId = e.payload.memberId
      member.assigned = (e.payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b)
      member.joins++
      notify()
    })
    consumer.on(consumer.events.CRASH, e => fail(e.payload.error))
    members.push(member)
  }

  // Every partition owned by exactly one consumer means the rebalance is
  // over: a stale assignment from an earlier generation would overlap.
  const balanced = () => {
    const owners = new Map()
    for (const m of members) {
      if (m.joins === 0) return false
      for (const p of m.assigned) owners.set(p, (owners.get(p) || 0) + 1)
    }
    if (owners.size !== partitionCount) return false
    return [...owners.values()].every(n => n === 1)
  }

  await Promise.all(members.map(async member => {
    const { consumer } = member
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        // Everything delivered is recorded, so the test sees duplicates.
        values.push(Number(message.value.toString()))
        member.count++
        member.received.add(partition)
        if (values.length >= expected) signalDone()
      },
    })
  }))

  const assignments = () => JSON.stringify(members.map(m => ({ joins: m.joins, assigned: m.assigned })))
  const readyDeadline = deadline(READY_TIMEOUT_MS, () => `waiting for a balanced group: ${assignments()}`)
  try {
    while (!balanced()) await Promise.race([changed, failed, readyDeadline.promise])
  } finally {
    readyDeadline.cancel()
  }
  await printLine(`READY ${assignments()}`)

  const consumeDeadline = deadline(CONSUME_TIMEOUT_MS, () => `with ${values.length} of ${expected} messages`)
  try {
    await Promise.race([done, failed, consumeDeadline.promise])
  } finally {
    consumeDeadline.cancel()
  }
  await Promise.all(members.map(m => m.consumer.disconnect()))

  await printLine(`SUMMARY ${JSON.stringify({
    consumers: members.map(m => ({
      memberId: m.memberId,
      assigned: m.assigned,
      joins: m.joins,
      count: m.count,
      received: [...m.received].sort((a, b) => a - b),
    })),
    values,
  })}`)
}

main().then(
  () => process.exit(0),
  err => {
    process.stderr.write(`group_consumers.js failed: ${err && err.stack ? err.stack : err}\n`)
    process.exit(1)
  },
)
