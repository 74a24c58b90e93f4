// node --test global setup: one broker and one Schema Registry for the whole run,
// started side by side and shared through the environment with every test file
// (test files run in child processes). An outer runner that already owns one sets
// its variable (KAFKA_BOOTSTRAP, SCHEMA_REGISTRY_URL) and none is started for it.
import { startKafka, type KafkaBroker } from './kafka.ts';
import { startRegistry, type SchemaRegistryServer } from './registry.ts';

let broker: KafkaBroker | undefined;
let registry: SchemaRegistryServer | undefined;

export async function globalSetup(): Promise<void> {
  const starts: Promise<void>[] = [];
  if (!process.env.KAFKA_BOOTSTRAP) {
    starts.push(startKafka({ logFile: process.env.KAFKA_LOG_FILE }).then((b) => {
      broker = b;
      process.env.KAFKA_BOOTSTRAP = b.bootstrap;
      process.env.KAFKA_LIBS_DIR = b.libsDir;
    }));
  }
  if (!process.env.SCHEMA_REGISTRY_URL) {
    starts.push(startRegistry({ logFile: process.env.SCHEMA_REGISTRY_LOG_FILE }).then((r) => {
      registry = r;
      process.env.SCHEMA_REGISTRY_URL = r.ccompatUrl;
      process.env.SCHEMA_REGISTRY_PID = String(r.pid);
    }));
  }
  const results = await Promise.allSettled(starts);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await globalTeardown();
    throw failed.reason;
  }
}

export async function globalTeardown(): Promise<void> {
  await Promise.all([broker?.stop(), registry?.stop()]);
}
