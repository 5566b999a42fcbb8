// acls.js manages ACLs with kafkajs's admin client and checks that they
// take effect (compat/acl_test.go). It logs in with SASL/PLAIN over
// $BROKER as $ADMIN_USER (a super user) to create, describe and delete
// ACLs, and as $USER to produce.
//
//   node acls.js ALLOWED_TOPIC DENIED_TOPIC
//
// Prints "SUMMARY {...}" with what each step saw.
'use strict'

const {
  Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes,
} = require('kafkajs')

function client(user, password) {
  return new Kafka({
    clientId: 'samsa-compat-acls',
    brokers: [process.env.BROKER],
    sasl: { mechanism: 'plain', username: user, password },
    retry: { retries: 2 },
    logLevel: logLevel.NOTHING,
  })
}

// errorType names a kafkajs error by its Kafka error code where it has one.
function errorType(err) {
  for (let e = err; e; e = e.originalError || e.cause) {
    if (e.type) return e.type
  }
  return String(err && err.message)
}

async function produce(kafka, topic) {
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'v' }] })
    return 'ok'
  } catch (err) {
    return errorType(err)
  } finally {
    await producer.disconnect()
  }
}

async function main(allowed, denied) {
  if (!allowed || !denied) throw new Error('usage: acls.js ALLOWED_TOPIC DENIED_TOPIC')
  const user = process.env.USER_NAME
  const admin = client(process.env.ADMIN_USER, process.env.ADMIN_PASSWORD).admin()
  const userKafka = client(user, process.env.USER_PASSWORD)
  const principal = `User:${user}`
  await admin.connect()
  const summary = {}
  try {
    summary.before = await produce(userKafka, allowed)
    await admin.createAcls({
      acl: [
        {
          resourceType: AclResourceTypes.TOPIC, resourceName: allowed, resourcePatternType: ResourcePatternTypes.LITERAL,
          principal, host: '*', operation: AclOperationTypes.WRITE, permissionType: AclPermissionTypes.ALLOW,
        },
        {
          resourceType: AclResourceTypes.TOPIC, resourceName: allowed, resourcePatternType: ResourcePatternTypes.LITERAL,
          principal, host: '*', operation: AclOperationTypes.DESCRIBE, permissionType: AclPermissionTypes.ALLOW,
        },
      ],
    })
    const described = await admin.describeAcls({
      resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, principal,
      operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
    })
    summary.described = described.resources.flatMap(r =>
      r.acls.map(a => `${r.resourceType}:${r.resourceName}:${a.operation}:${a.permissionType}`)).sort()
    summary.allowed = await produce(userKafka, allowed)
    summary.denied = await produce(userKafka, denied)
    const deleted = await admin.deleteAcls({
      filters: [{
        resourceType: AclResourceTypes.TOPIC, resourceName: allowed, resourcePatternType: ResourcePatternTypes.LITERAL,
        principal, host: '*', operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
      }],
    })
    summary.deleted = deleted.filterResponses.reduce((n, f) => n + f.matchingAcls.length, 0)
    summary.after = await produce(userKafka, allowed)
    process.stdout.write(`SUMMARY ${JSON.stringify(summary)}\n`)
  } finally {
    await admin.disconnect()
  }
}

main(process.argv[2], process.argv[3]).then(
  () => process.exit(0),
  err => {
    process.stderr.write(`acls.js failed: ${err && err.stack ? err.stack : err}\n`)
    process.exit(1)
  },
)
