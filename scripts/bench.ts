// `npm run bench`: the project's benchmarks, each printing one JSON summary line
// on stdout. bench/sink.ts first runs the emulator's absorb benchmark
// (emulator/bench.ts: how many requests it takes, so it is never the bottleneck),
// then the sink benchmarks against a real Kafka broker (ceiling, sink and Avro
// throughput, peak RSS, end-to-end latency) and writes bench-results.json.
// Arguments go to bench/sink.ts: `npm run bench -- --records 100000 --e2e-seconds 10`.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--disable-warning=TimeoutNegativeWarning', path.join(root, 'bench/sink.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
