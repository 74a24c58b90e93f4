// `npm run test:pods`: the operator and its workers as real containers on a real node
// (test/pods/*.pods.ts, kept out of `npm test`'s glob: they need root, build the image
// and a node first, and take minutes). Provisions the node and the image up front
// (test/harness/provision-node.sh, build-image.sh: both cached), then runs the files.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

if (process.getuid?.() !== 0) {
  console.error('test:pods needs root: it runs containerd, a kubelet, mounts and cgroups');
  process.exit(2);
}
// the same flags as scripts/test.ts (kafkajs#1751 trips TimeoutNegativeWarning)
const nodeFlags = ['--disable-warning=ExperimentalWarning', '--disable-warning=TimeoutNegativeWarning'];
for (const script of ['test/harness/provision-node.sh', 'test/harness/build-image.sh']) {
  const r = spawnSync('sh', [script], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) {
    console.error(`${script} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}
const files = process.argv.slice(2);
const r = spawnSync(process.execPath, [
  ...nodeFlags,
  '--test',
  '--test-concurrency=1',
  '--test-timeout=900000',
  ...(files.length ? files : ['test/pods/**/*.pods.ts']),
], { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${nodeFlags.join(' ')}`.trim() } });
process.exit(r.status ?? 1);
