// A dedicated broker that can be killed and started again on the same ports with
// the same data directory, for the broker-outage scenario. It wraps the harness's
// startKafka (which owns the data directory and removes it on stop) and restarts
// the JVM from the server.properties that startKafka wrote there.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startKafka, type KafkaBroker } from '../harness/kafka.ts';
import { pidAlive, stillRunning } from '../harness/processes.ts';
import { waitFor } from '../harness/ports.ts';

export interface RestartableBroker {
  brokers: string[];
  /** SIGKILLs the broker's JVM: clients see connections reset, then refused. */
  kill(): Promise<void>;
  /** Starts it again on the same ports with the same data; resolves once it answers metadata requests. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const respawned = new Set<ChildProcess>();
process.once('exit', () => respawned.forEach((c) => c.kill('SIGKILL')));

export async function startRestartableBroker(): Promise<RestartableBroker> {
  const broker: KafkaBroker = await startKafka();
  let pid = broker.pid;
  let child: ChildProcess | undefined;
  const home = path.dirname(broker.libsDir);
  const logTail: string[] = [];
  return {
    brokers: broker.brokers,
    async kill() {
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      const left = await stillRunning([pid], 20_000);
      if (left.length) throw new Error(`the broker (pid ${pid}) survived SIGKILL`);
    },
    async restart() {
      child = spawn('java', [
        '-Xms256m', '-Xmx768m', '-XX:+UseG1GC', '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${path.join(home, 'log4j2.properties')}`,
        `-Dkafka.logs.dir=${broker.dataDir}`,
        '-cp', `${broker.libsDir}/*`, 'kafka.Kafka', path.join(broker.dataDir, 'server.properties'),
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      respawned.add(child);
      pid = child.pid ?? 0;
      // the harness's reaper kills what a killed test run left behind
      fs.writeFileSync(path.join(broker.dataDir, 'broker.pid'), String(pid));
      const keep = (d: Buffer) => {
        logTail.push(d.toString());
        if (logTail.length > 100) logTail.shift();
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      const probe = new Kafka({ clientId: 'chaos-probe', brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 });
      const admin = probe.admin();
      try {
        await waitFor('the restarted broker to answer metadata requests', async () => {
          await admin.connect();
          const cluster = await admin.describeCluster();
          return cluster.brokers.length > 0 && cluster.controller !== null;
        }, { timeoutMs: 120_000, intervalMs: 250, abort: () => (child!.exitCode !== null ? new Error(`the restarted broker exited ${child!.exitCode}:\n${logTail.join('').slice(-3000)}`) : undefined) });
      } finally {
        await admin.disconnect().catch(() => {});
      }
    },
    async stop() {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child!.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      if (child) respawned.delete(child);
      await broker.stop();
    },
  };
}
