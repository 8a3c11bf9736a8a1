// One KafkaJS group member as a process, so a test can SIGKILL it like a crashed service.
//
// usage: node group_member.js BOOTSTRAP GROUP TOPIC SESSION_TIMEOUT_MS HEARTBEAT_INTERVAL_MS
//
// Speaks the member protocol of tests/clients/group_members.py: one JSON object per stdout line,
// {"event": "assigned", "partitions": [...]} after each join (KafkaJS uses the eager protocol, so
// that is the whole assignment), {"event": "revoked", "partitions": []} when a rebalance starts, and
// {"event": "record", partition, offset, value} per record. Offsets are committed after each batch
// (KafkaJS's autoCommit with no interval or threshold). SIGTERM disconnects (LeaveGroup) and exits 0.
// KafkaJS's own log goes to stderr so stdout carries only the protocol.
'use strict';

const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, group, topic, sessionMs, heartbeatMs] = process.argv.slice(2);

function emit(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

const stderrLog = () => ({ namespace, level, label, log }) => {
  process.stderr.write(`${label} [${namespace}] ${JSON.stringify(log)}\n`);
};

const kafka = new Kafka({
  clientId: `kafkajs-${group}`,
  brokers: [bootstrap],
  logLevel: logLevel.INFO,
  logCreator: stderrLog,
});

const consumer = kafka.consumer({
  groupId: group,
  sessionTimeout: Number(sessionMs),
  heartbeatInterval: Number(heartbeatMs),
  // A fetch long-polls at most this long, so heartbeats (sent between fetches) stay frequent.
  maxWaitTimeInMs: 100,
});

consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
  const partitions = (payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b);
  emit({ event: 'assigned', partitions });
});
consumer.on(consumer.events.REBALANCING, () => emit({ event: 'revoked', partitions: [] }));
consumer.on(consumer.events.CRASH, ({ payload }) => {
  process.stderr.write(`consumer crashed: ${payload.error}\n`);
  process.exit(3);
});

async function main() {
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      emit({ event: 'record', partition, offset: Number(message.offset), value: message.value.toString() });
    },
  });
}

process.on('SIGTERM', async () => {
  await consumer.disconnect();
  process.exit(0);
});

main().catch((err) => {
  process.stderr.write(`member failed: ${err.stack || err}\n`);
  process.exit(2);
});
