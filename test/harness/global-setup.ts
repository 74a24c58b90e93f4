// node --test global setup: one broker for the whole run, shared through the
// environment with every test file (test files run in child processes).
import { startKafka, type KafkaBroker } from './kafka.ts';

let broker: KafkaBroker | undefined;

export async function globalSetup(): Promise<void> {
  if (process.env.KAFKA_BOOTSTRAP) return; // an outer runner already owns one
  broker = await startKafka({ logFile: process.env.KAFKA_LOG_FILE });
  process.env.KAFKA_BOOTSTRAP = broker.bootstrap;
  process.env.KAFKA_LIBS_DIR = broker.libsDir;
}

export async function globalTeardown(): Promise<void> {
  await broker?.stop();
}
