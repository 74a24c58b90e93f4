// Command-line parsing into EmulatorOptions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCli, UsageError } from '../../emulator/options.ts';

test('flags map onto options; defaults for the rest', () => {
  const r = parseCli(
    [
      '--port', '3011', '--host', '0.0.0.0', '--api-key', 'k', '--collection', 'ws.a', '--collection', 'ws.b.c', '--auto-create',
      '--max-body-bytes', '100', '--max-documents', '5', '--rate-limit', '25', '--rate-burst', '50', '--retry-after', '2',
      '--latency-ms', '10', '--jitter-ms', '5', '--fault-429', '0.1', '--fault-drop-after', '0.05', '--fault-retry-after', 'none',
      '--stall-ms', '1000', '--stall-apply', '--seed', '9', '--request-log-size', '50', '--store', 'ids', '--forbidden-api-key', 'ro',
    ],
    {},
  );
  assert.equal(r.help, false);
  if (r.help) return;
  assert.deepEqual(r.options, {
    storeMode: 'ids',
    host: '0.0.0.0',
    port: 3011,
    apiKey: 'k',
    forbiddenApiKeys: ['ro'],
    collections: [
      { workspace: 'ws', collection: 'a' },
      { workspace: 'ws', collection: 'b.c' },
    ],
    autoCreate: true,
    faults: { probabilities: { '429': 0.1, 'drop-after': 0.05 }, latencyMs: 10, jitterMs: 5, stallMs: 1000, stallApply: true, retryAfterSeconds: null },
    maxBodyBytes: 100,
    maxDocuments: 5,
    rateLimit: 25,
    rateBurst: 50,
    retryAfterSeconds: 2,
    seed: 9,
    requestLogSize: 50,
  });
});

test('the API key may come from ROCKSET_EMULATOR_API_KEY; defaults port 3010 and host 127.0.0.1', () => {
  const r = parseCli([], { ROCKSET_EMULATOR_API_KEY: 'from-env' });
  assert.ok(!r.help);
  if (r.help) return;
  assert.equal(r.options.apiKey, 'from-env');
  assert.equal(r.options.port, 3010);
  assert.equal(r.options.host, '127.0.0.1');
  assert.equal(r.options.autoCreate, false);
  assert.equal(parseCli(['--api-key', 'flag'], { ROCKSET_EMULATOR_API_KEY: 'env' }).help || (parseCli(['--api-key', 'flag'], {}) as any).options.apiKey, 'flag');
});

test('bad input is a UsageError', () => {
  for (const argv of [[], ['--api-key', 'k', '--port', 'x'], ['--api-key', 'k', '--port', '70000'], ['--api-key', 'k', '--fault-500', '1.5'], ['--api-key', 'k', '--collection', 'x'], ['--api-key', 'k', '--collection', '.x'], ['--api-key', 'k', '--store', 'disk'], ['--api-key', 'k', 'positional'], ['--api-key', 'k', '--max-documents', '1.5']]) {
    assert.throws(() => parseCli(argv, {}), UsageError, argv.join(' '));
  }
  assert.deepEqual(parseCli(['--help'], {}), { help: true });
});
