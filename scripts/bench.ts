// `npm run bench`: the project's benchmarks, each printing one JSON summary line
// on stdout. Today: how many requests the Rockset emulator absorbs (so it is never
// the bottleneck of a sink benchmark).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const benches = [['emulator/bench.ts', '--seconds', '5']];
let failed = false;
for (const [file, ...args] of benches) {
  const r = spawnSync(process.execPath, [path.join(root, file!), ...args], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
