// `npm run test:chaos`: the chaos scenarios (test/chaos/*.chaos.ts, kept out of
// `npm test`'s glob because they take minutes) against a real broker, Schema
// Registry and sink processes, then one verdict: every scenario's summary line,
// and failure on any failed test or any missing, extra or stale document.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

// the same flags as scripts/test.ts (kafkajs#1751 trips TimeoutNegativeWarning)
const nodeFlags = ['--disable-warning=ExperimentalWarning', '--disable-warning=TimeoutNegativeWarning'];
const summaryFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rso-chaos-run-')), 'summary');
fs.writeFileSync(summaryFile, '');

const files = process.argv.slice(2);
const started = Date.now();
const r = spawnSync(process.execPath, [
  ...nodeFlags,
  '--test',
  '--test-global-setup=test/harness/global-setup.ts',
  '--test-timeout=600000',
  ...(files.length ? files : ['test/chaos/**/*.chaos.ts']),
], {
  stdio: 'inherit',
  env: { ...process.env, CHAOS_SUMMARY_FILE: summaryFile, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${nodeFlags.join(' ')}`.trim() },
});

const lines = fs.readFileSync(summaryFile, 'utf8').split('\n').filter(Boolean);
fs.rmSync(path.dirname(summaryFile), { recursive: true, force: true });
const bad = lines.filter((l) => !/ missing=0 extra=0 stale=0$/.test(l));
console.error(`\n== chaos verdict (${((Date.now() - started) / 1000).toFixed(0)} s)`);
for (const l of lines) console.error(l);
if (r.status !== 0 || bad.length || lines.length === 0) {
  console.error(`== chaos failed: ${r.status !== 0 ? `tests exited ${r.status ?? r.signal}` : ''}${bad.length ? ` ${bad.length} scenario(s) lost, duplicated or left stale documents` : ''}${lines.length === 0 ? ' no scenario reported' : ''}`);
  process.exit(r.status || 1);
}
console.error(`== chaos ok: ${lines.length} scenarios, 0 missing, 0 extra, 0 stale`);
