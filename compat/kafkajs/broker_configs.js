// broker_configs.js sets a dynamic broker config with kafkajs
// (compat/broker_configs_test.go): alterConfigs on this broker's BROKER
// resource sets log.retention.ms to VALUE, describeConfigs reads it back,
// and a config the broker reads at start-up only (num.partitions) is
// refused.
//
//   BROKER=host:port node broker_configs.js NODE_ID VALUE
//
// Prints "SUMMARY {value, source, refused}".
'use strict'

const { Kafka, logLevel, ConfigResourceTypes } = require('kafkajs')

async function main() {
  const [node, value] = process.argv.slice(2)
  const kafka = new Kafka({ clientId: 'samsa-compat-broker-configs', brokers: [process.env.BROKER], logLevel: logLevel.NOTHING, retry: { retries: 0 } })
  const admin = kafka.admin()
  await admin.connect()
  const alter = async configEntries => {
    try {
      await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: node, configEntries }] })
      return 'ok'
    } catch (err) {
      return err.type || err.name
    }
  }
  const set = await alter([{ name: 'log.retention.ms', value }])
  if (set !== 'ok') throw new Error('alterConfigs on the broker: ' + set)
  const refused = await alter([{ name: 'num.partitions', value: '3' }])
  await alter([{ name: 'log.retention.ms', value }])
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.BROKER, name: node, configNames: ['log.retention.ms'] }],
  })
  const entry = described.resources[0].configEntries[0]
  await admin.disconnect()
  console.log('SUMMARY ' + JSON.stringify({ value: entry.configValue, source: entry.configSource, refused }))
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
