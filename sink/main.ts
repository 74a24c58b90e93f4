// The sink process: configuration, logging, signals. Exit codes: 0 stopped on
// request, 1 stopped by an error that needs a human, 2 invalid configuration.
import { loadConfig } from './config/load.ts';
import { ConfigError } from './config/validate.ts';
import { createLogger } from './log.ts';
import { startSink } from './sink.ts';
import { FatalSinkError } from './errors.ts';
import fs from 'node:fs';

/**
 * Kubernetes shows a container's termination message in the pod status, where the
 * operator reads why a worker stopped (the first word is the reason). Outside a pod
 * the file does not exist, and that is fine.
 */
function writeTerminationMessage(text: string): void {
  const path = process.env.TERMINATION_MESSAGE_PATH ?? '/dev/termination-log';
  try {
    fs.writeFileSync(path, Buffer.from(text).subarray(0, 4096));
  } catch {
    // not in a pod
  }
}

let loaded;
try {
  loaded = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`rockset-sink: ${err.message}\n`);
    writeTerminationMessage(`${err.reason}: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

const log = createLogger(loaded.config.logLevel);
let running: Awaited<ReturnType<typeof startSink>> | undefined;
// Installed before the start (which waits for the broker and the group join), so a
// pod deleted while it starts stops cleanly: nothing is committed before Rockset
// acknowledged it, so leaving mid-start loses nothing.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'stopping');
    if (running) void running.stop();
    else process.exit(0);
  });
}
try {
  const sink = await startSink(loaded, log);
  running = sink;
  process.exitCode = await sink.stopped;
  const failure = sink.failure();
  if (failure) writeTerminationMessage(`${failure.reason}: ${failure.message}`);
  // Anything still open (a stuck socket) must not keep a stopped sink alive.
  setTimeout(() => process.exit(process.exitCode), 1000).unref();
} catch (err) {
  log.fatal({ error: (err as Error).message }, 'the sink failed to start');
  // The operator shows the reason in the sink's Ready condition (a broker that cannot be reached, a missing topic).
  const reason = err instanceof FatalSinkError ? err.reason : (err as Error).name?.startsWith('KafkaJS') ? 'KafkaFailed' : 'StartFailed';
  writeTerminationMessage(`${reason}: ${(err as Error).message}`);
  process.exit(1);
}
