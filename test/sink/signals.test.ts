// SIGTERM while the sink is still starting (here: its broker refuses connections, so
// kafkajs keeps retrying): a pod deleted at that moment stops with exit code 0 and
// says so, instead of dying by the signal.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { waitFor } from '../harness/ports.ts';
import { API_KEY, startSinkProcess } from './helpers.ts';

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('SIGTERM during start-up: exit 0, "stopping" logged', async () => {
  const port = await closedPort();
  const sink = startSinkProcess({
    kafka: { brokers: [`127.0.0.1:${port}`], groupId: 'g-signals', topics: ['t'] },
    rockset: { apiServer: 'http://127.0.0.1:9', workspace: 'commons', collection: 'events' },
    http: { port: 0, host: '127.0.0.1' },
    logLevel: 'info',
  }, { ROCKSET_API_KEY: API_KEY });
  // The process is up (its logger wrote) and still connecting.
  await waitFor('the sink to be starting', () => sink.lines.length > 0 || sink.child.exitCode !== null, { timeoutMs: 20_000, intervalMs: 50 });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(sink.child.exitCode, null, `the sink ended early:\n${sink.lines.join('\n')}`);
  sink.kill('SIGTERM');
  const code = await sink.exited;
  assert.equal(code, 0, sink.lines.join('\n'));
  assert.equal(sink.child.signalCode, null);
  assert.ok(sink.lines.some((l) => l.includes('"msg":"stopping"')), sink.lines.join('\n'));
});
