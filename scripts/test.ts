// `npm test`: typecheck (strict, unused code is an error), generated-file drift,
// then the whole suite against real components. One Kafka broker serves the run.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

const node = process.execPath;
// kafkajs 2.2.4 trips Node 24's TimeoutNegativeWarning on connect (kafkajs#1751): harmless noise.
const nodeFlags = ['--disable-warning=ExperimentalWarning', '--disable-warning=TimeoutNegativeWarning'];

function step(name: string, cmd: string, args: string[]): void {
  const started = Date.now();
  console.error(`\n== ${name}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${nodeFlags.join(' ')}`.trim() } });
  if (r.status !== 0) {
    console.error(`== ${name} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
  console.error(`== ${name} ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

step('typecheck', node, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.']);
step('generated files are current', node, ['scripts/generate.ts', '--check']);
const files = process.argv.slice(2);
step('tests', node, [
  ...nodeFlags,
  '--test',
  '--test-global-setup=test/harness/global-setup.ts',
  '--test-timeout=300000',
  ...(files.length ? files : ['test/**/*.test.ts']),
]);
