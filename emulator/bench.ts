// How many write requests the emulator absorbs: 1,000-document batches of
// ~300-byte documents over a keep-alive undici Pool, for a few seconds.
// The emulator runs as its own process (as in a real benchmark), so the load
// generator does not share its event loop. Prints one JSON line.
//
//   node emulator/bench.ts [--seconds 5] [--concurrency 8] [--batch 1000] [--event-time]
//                          [--url http://127.0.0.1:3010 --api-key KEY]   (an emulator already
//                          running, with collection bench.events or --auto-create)
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '8' },
    batch: { type: 'string', default: '1000' },
    'event-time': { type: 'boolean', default: false },
    url: { type: 'string' },
    'api-key': { type: 'string', default: 'bench-key' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const batch = Number(values.batch);
const withEventTime = values['event-time'] === true;
const API_KEY = values['api-key'];
const DISTINCT_BODIES = 20;

function makeDoc(i: number): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    _id: `doc-${String(i).padStart(8, '0')}`,
    user: `user-${i % 9973}`,
    event: ['view', 'click', 'purchase', 'signup'][i % 4],
    page: `/catalog/category-${i % 37}/product-${i % 1009}`,
    referrer: 'https://www.example.com/search?q=rockset+emulator',
    amount: (i % 10000) / 100,
    quantity: i % 7,
    ok: i % 3 === 0,
    tags: ['alpha', 'beta', `t${i % 13}`],
    geo: { country: 'DE', city: 'Berlin', lat: 52.52, lon: 13.405 },
  };
  if (withEventTime) doc['_event_time'] = 1_700_000_000_000_000 + i;
  return doc;
}

// The same ids come round again (REPLACED), so the store stays bounded however long the run.
const bodies = Array.from({ length: DISTINCT_BODIES }, (_, b) =>
  Buffer.from(JSON.stringify({ data: Array.from({ length: batch }, (_, i) => makeDoc(b * batch + i)) })),
);
const docBytes = Math.round((bodies[0] as Buffer).length / batch);

const here = path.dirname(fileURLToPath(import.meta.url));
let child: ChildProcess | undefined;
let url = values.url;
if (url === undefined) {
  const emulator = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', path.join(here, 'main.ts'), '--port', '0', '--api-key', API_KEY, '--collection', 'bench.events', '--request-log-size', '1000'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  child = emulator;
  let out = '';
  url = await new Promise<string>((resolve, reject) => {
    emulator.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    emulator.once('exit', (code) => reject(new Error(`emulator exited early with code ${code}`)));
  });
}

const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
const latencies: number[] = [];
let requests = 0;
let failures = 0;
let bytes = 0;
let next = 0;

async function worker(deadline: number): Promise<void> {
  while (performance.now() < deadline) {
    const body = bodies[next++ % DISTINCT_BODIES] as Buffer;
    const t0 = performance.now();
    const res = await pool.request({
      method: 'POST',
      path: '/v1/orgs/self/ws/bench/collections/events/docs',
      headers: { authorization: `ApiKey ${API_KEY}`, 'content-type': 'application/json' },
      body,
    });
    await res.body.text();
    latencies.push(performance.now() - t0);
    if (res.statusCode === 200) requests += 1;
    else failures += 1;
    bytes += body.length;
  }
}

// Short warm-up so JIT and connections are ready before measuring.
await Promise.all(Array.from({ length: concurrency }, () => worker(performance.now() + 500)));
requests = 0;
failures = 0;
bytes = 0;
latencies.length = 0;

const start = performance.now();
await Promise.all(Array.from({ length: concurrency }, () => worker(start + seconds * 1000)));
const elapsed = (performance.now() - start) / 1000;
await pool.close();
if (child) {
  child.kill('SIGTERM');
  await once(child, 'exit');
}

latencies.sort((a, b) => a - b);
const pct = (p: number) => Number((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0).toFixed(2));
process.stdout.write(
  `${JSON.stringify({
    bench: 'emulator-absorb',
    seconds: Number(elapsed.toFixed(2)),
    concurrency,
    batch,
    docBytes,
    eventTime: withEventTime,
    requests,
    failures,
    requestsPerSec: Math.round(requests / elapsed),
    docsPerSec: Math.round((requests * batch) / elapsed),
    mbPerSec: Number((bytes / elapsed / 1e6).toFixed(1)),
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
  })}\n`,
);
