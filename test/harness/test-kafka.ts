// What a test file uses to reach the run's broker: the one the global setup
// started, or (when a file is run on its own) one started for this process.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { runKafkaTool, startKafka, type KafkaBroker } from './kafka.ts';

export interface TestKafka {
  bootstrap: string;
  brokers: string[];
  libsDir: string;
  kafka: Kafka;
  runTool: KafkaBroker['runTool'];
  /** Creates a topic with a name unique to this run; returns the name. */
  createTopic(prefix: string, opts?: { partitions?: number; config?: Record<string, string> }): Promise<string>;
}

let shared: Promise<TestKafka> | undefined;

export function testKafka(): Promise<TestKafka> {
  shared ??= connect();
  return shared;
}

async function connect(): Promise<TestKafka> {
  let bootstrap = process.env.KAFKA_BOOTSTRAP;
  let libsDir = process.env.KAFKA_LIBS_DIR;
  if (!bootstrap || !libsDir) {
    const own = await startKafka();
    // the exit hook in kafka.ts kills it when this process ends
    bootstrap = own.bootstrap;
    libsDir = own.libsDir;
  }
  return testKafkaOn({ bootstrap, libsDir });
}

/** The same for a broker a test started for itself (one with settings of its own). */
export function testKafkaOn({ bootstrap, libsDir }: { bootstrap: string; libsDir: string }): TestKafka {
  const brokers = [bootstrap];
  const kafka = new Kafka({ clientId: 'test', brokers, logLevel: logLevel.NOTHING });
  const resolvedLibs = libsDir;
  return {
    bootstrap,
    brokers,
    libsDir,
    kafka,
    runTool: (mainClass, args, opts) => runKafkaTool(resolvedLibs, mainClass, args, opts),
    async createTopic(prefix, { partitions = 1, config = {} } = {}) {
      // a connected admin would keep the test process alive after its tests end
      const admin = kafka.admin();
      await admin.connect();
      const topic = `${prefix}-${randomBytes(4).toString('hex')}`;
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries: Object.entries(config).map(([name, value]) => ({ name, value })) }],
        });
      } finally {
        await admin.disconnect();
      }
      return topic;
    },
  };
}
