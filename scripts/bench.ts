// `npm run bench`: the project's benchmarks, each printing one JSON summary line
// on stdout. bench/sink.ts first runs the emulator's absorb benchmark
// (emulator/bench.ts: how many requests it takes, so it is never the bottleneck),
// then the sink benchmarks against a real Kafka broker (ceiling, sink and Avro
// throughput, peak RSS, end-to-end latency) and writes bench-results.json; then
// bench/operator.ts runs the operator on the kwok control plane (500 RocksetSinks to
// Ready, idle writes) and merges its figures into the same file. The last line is
// both summaries merged into one JSON object.
//
// Arguments: `--only sink|operator` runs one of them; the operator's own options
// (OPERATOR_OPTIONS) go to bench/operator.ts, `--out` to both, everything else to
// bench/sink.ts: `npm run bench -- --records 100000 --idle-seconds 30`.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OPERATOR_OPTIONS = new Map<string, 'value' | 'flag'>([
  ['--sinks', 'value'], ['--sink-namespaces', 'value'], ['--workers', 'value'], ['--idle-seconds', 'value'], ['--quiet-seconds', 'value'],
  ['--timeout-seconds', 'value'], ['--skip-floor', 'flag'], ['--leader-election', 'flag'], ['--operator-profile', 'flag'],
]);

const sinkArgs: string[] = [];
const operatorArgs: string[] = [];
let only: string | undefined;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i] as string;
  const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
  const takeValue = (): string[] => (inline !== undefined ? [] : i + 1 < argv.length ? [argv[++i] as string] : []);
  if (name === '--only') {
    only = inline ?? argv[++i];
  } else if (name === '--out') {
    const rest = [arg, ...takeValue()];
    sinkArgs.push(...rest);
    operatorArgs.push(...rest);
  } else if (OPERATOR_OPTIONS.has(name)) {
    operatorArgs.push(arg, ...(OPERATOR_OPTIONS.get(name) === 'value' ? takeValue() : []));
  } else sinkArgs.push(arg);
}
if (only !== undefined && only !== 'sink' && only !== 'operator') {
  process.stderr.write(`bench: --only ${only}: use sink or operator\n`);
  process.exit(2);
}

/** Runs one bench script, passing its output through; resolves with its exit code and its last JSON line. */
function run(script: string, args: string[]): Promise<{ code: number; summary: Record<string, unknown> | undefined }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', '--disable-warning=TimeoutNegativeWarning', path.join(root, script), ...args], { stdio: ['inherit', 'pipe', 'inherit'] });
    current = child;
    let summary: Record<string, unknown> | undefined;
    let buf = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      buf += chunk.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{"bench":')) continue;
        try {
          summary = JSON.parse(line) as Record<string, unknown>;
        } catch {
          // not the summary after all
        }
      }
    });
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 130 : 1), summary }));
  });
}

// Ctrl-C reaches the running bench too (same process group), a SIGTERM is passed on:
// it stops what it started and exits 130, and this process waits for it.
let current: ChildProcess | undefined;
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => current?.kill('SIGTERM'));

let code = 0;
const summaries: Record<string, unknown>[] = [];
for (const [name, script, args] of [['sink', 'bench/sink.ts', sinkArgs], ['operator', 'bench/operator.ts', operatorArgs]] as const) {
  if (only !== undefined && only !== name) continue;
  const r = await run(script, [...args]);
  if (r.code !== 0) code = r.code;
  if (r.summary) summaries.push(r.summary);
  if (r.code === 130) break;
}

// Both summaries in one line: the sink's fields as they are, the operator's figures
// (operator_*) beside them, its date, machine and settings under operator_*.
if (summaries.length > 1) {
  const merged: Record<string, unknown> = { bench: summaries.map((s) => s['bench']).join('+') };
  for (const s of summaries) {
    for (const [k, v] of Object.entries(s)) {
      if (k === 'bench') continue;
      if (s['bench'] === 'operator' && !k.startsWith('operator_')) merged[`operator_${k}`] = v;
      else merged[k] = v;
    }
  }
  process.stdout.write(`${JSON.stringify(merged)}\n`);
}
process.exit(code);
