// The standalone emulator as a child process: the listening line, flags, the
// env key, exit on SIGTERM/SIGINT, usage errors, and the API key never printed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../emulator/main.ts');
const SECRET = 'cli-secret-key-4711';

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const { ROCKSET_EMULATOR_API_KEY: _drop, ...base } = process.env;
  return spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], {
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function start(t: { after: (fn: () => void) => void }, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Running> {
  const child = run(args, env);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 10 s; output: ${out}`)), 10_000);
    const check = () => {
      const m = /^rockset-emulator listening on (http:\/\/127\.0\.0\.1:\d+) /m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening: ${out}`));
    });
  });
  return { child, url, output: () => out };
}

async function write(url: string, key: string, coll = 'events', ws = 'commons') {
  const res = await request(`${url}/v1/orgs/self/ws/${ws}/collections/${coll}/docs`, {
    method: 'POST',
    headers: { authorization: `ApiKey ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ data: [{ _id: 'cli-doc' }] }),
  });
  return { status: res.statusCode, body: (await res.body.json()) as any };
}

async function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal };
}

// Each test owns its child process, so they run side by side (process start-up dominates).
describe('emulator CLI', { concurrency: true }, () => {
  test('CLI: --port 0 prints the actual URL, serves declared collections (404 for others), exits 0 on SIGTERM; the key is never printed', async (t) => {
    const emu = await start(t, ['--port', '0', '--api-key', SECRET, '--collection', 'commons.events', '--collection', 'ws2.more']);
    assert.match(emu.output(), /collections: commons\.events, ws2\.more; auto-create: off/);
    const ok = await write(emu.url, SECRET);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.data[0].status, 'ADDED');
    assert.equal((await write(emu.url, SECRET, 'more', 'ws2')).status, 200);
    const missing = await write(emu.url, SECRET, 'unknown');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message_key, 'COLLECTION_DOES_NOT_EXIST');
    assert.equal((await write(emu.url, 'wrong')).status, 401);
    const count = await request(`${emu.url}/_emulator/collections/commons/events/count`);
    assert.deepEqual(await count.body.json(), { count: 1 });
    emu.child.kill('SIGTERM');
    assert.deepEqual(await exitOf(emu.child), { code: 0, signal: null });
    assert.ok(!emu.output().includes(SECRET), `the API key leaked into the output: ${emu.output()}`);
  });

  test('CLI: SIGINT also exits 0', async (t) => {
    const emu = await start(t, ['--port', '0', '--api-key', SECRET]);
    emu.child.kill('SIGINT');
    assert.deepEqual(await exitOf(emu.child), { code: 0, signal: null });
  });

  test('CLI: ROCKSET_EMULATOR_API_KEY, --auto-create, fault and limit flags', async (t) => {
    const emu = await start(t, ['--port', '0', '--auto-create', '--fault-503', '1', '--max-documents', '1'], { ROCKSET_EMULATOR_API_KEY: SECRET });
    assert.match(emu.output(), /auto-create: on/);
    assert.equal((await write(emu.url, SECRET, 'anything')).status, 503);
    const faults = await request(`${emu.url}/_emulator/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    await faults.body.dump();
    assert.equal((await write(emu.url, SECRET, 'anything')).status, 200);
    const tooMany = await request(`${emu.url}/v1/orgs/self/ws/commons/collections/anything/docs`, {
      method: 'POST',
      headers: { authorization: `ApiKey ${SECRET}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: [{}, {}] }),
    });
    assert.equal(tooMany.statusCode, 400);
    assert.equal(((await tooMany.body.json()) as any).message_key, 'RECEIVER_REQUEST_MAX_DOCUMENT_LIMIT');
    emu.child.kill('SIGTERM');
    assert.equal((await exitOf(emu.child)).code, 0);
    assert.ok(!emu.output().includes(SECRET));
  });

  test('CLI: no API key exits 2 with usage on stderr', async () => {
    const child = run(['--port', '0']);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const { code } = await exitOf(child);
    assert.equal(code, 2);
    assert.match(err, /an API key is required/);
    assert.match(err, /Usage: npm run emulator/);
  });
});
