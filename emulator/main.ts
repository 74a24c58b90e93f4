// Standalone emulator: `npm run emulator -- --port 3010 --api-key KEY --collection ws.coll`.
// Prints one line once listening (with the actual URL, so `--port 0` is usable
// from scripts) and exits 0 on SIGINT/SIGTERM. The API key is never printed.
import { parseCli, USAGE, UsageError } from './options.ts';
import { startEmulator } from './server.ts';

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseCli(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`rockset-emulator: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(USAGE);
    return;
  }
  const { options } = parsed;
  const emulator = await startEmulator(options);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`rockset-emulator stopping (${signal})\n`);
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // Handlers go in before the listening line: whoever waits for that line may signal at once.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const collections = (options.collections ?? []).map((c) => (typeof c === 'string' ? c : `${c.workspace}.${c.collection}`));
  process.stdout.write(
    `rockset-emulator listening on ${emulator.url} (collections: ${collections.length > 0 ? collections.join(', ') : 'none'}; auto-create: ${options.autoCreate ? 'on' : 'off'})\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`rockset-emulator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
