// Shared helpers of the emulator tests: start an emulator for one test file or
// test, and talk to its Write API over real HTTP (undici).
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { request } from 'undici';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/server.ts';

export const KEY = 'test-api-key-123';
export const WS = 'commons';
export const COLL = 'events';

/** Starts an emulator on a free port, closed when the test (or suite) ends. */
export async function emulator(t: Pick<TestContext, 'after'> | { after: (fn: () => Promise<void>) => void }, opts: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  const emu = await startEmulator({ apiKey: KEY, collections: [`${WS}.${COLL}`], ...opts });
  t.after(() => emu.close());
  return emu;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface CallOptions {
  method?: string;
  ws?: string;
  coll?: string;
  /** An object is sent as JSON; a string or Buffer as is. */
  body?: unknown;
  /** null sends no Authorization header. */
  auth?: string | null;
  headers?: Record<string, string>;
  /** Client-side timeout (AbortSignal; undici's own timeouts have a 1 s resolution). */
  timeoutMs?: number;
}

export function docsPath(ws = WS, coll = COLL): string {
  return `/v1/orgs/self/ws/${encodeURIComponent(ws)}/collections/${encodeURIComponent(coll)}/docs`;
}

/** One request to the Write API docs endpoint. */
export async function call(emu: Emulator, o: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers };
  const auth = o.auth === undefined ? `ApiKey ${KEY}` : o.auth;
  if (auth !== null) headers['authorization'] = auth;
  const body = o.body === undefined ? undefined : typeof o.body === 'string' || Buffer.isBuffer(o.body) ? o.body : JSON.stringify(o.body);
  const res = await request(`${emu.url}${docsPath(o.ws, o.coll)}`, {
    method: (o.method ?? 'POST') as 'POST',
    headers,
    body,
    ...(o.timeoutMs !== undefined ? { signal: AbortSignal.timeout(o.timeoutMs) } : {}),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

export const post = (emu: Emulator, data: unknown[], o: CallOptions = {}) => call(emu, { ...o, method: 'POST', body: { data } });

/** Raw GET of an admin path: the exact body text, for digit-level assertions. */
export async function rawGet(emu: Emulator, path: string): Promise<{ status: number; text: string }> {
  const res = await request(`${emu.url}${path}`);
  return { status: res.statusCode, text: await res.body.text() };
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Asserts Rockset's ErrorModel: exact keys in wire order, explicit nulls, a UUID trace_id. */
export function assertErrorModel(body: any, type: string, messageKey?: string): void {
  assert.ok(body !== null && typeof body === 'object', `expected an ErrorModel object, got ${JSON.stringify(body)}`);
  assert.deepEqual(Object.keys(body), ['message', 'message_key', 'type', 'line', 'column', 'trace_id', 'error_id', 'query_id', 'internal_errors']);
  assert.equal(body.type, type);
  assert.equal(typeof body.message, 'string');
  assert.ok(body.message.length > 0);
  for (const k of ['line', 'column', 'error_id', 'query_id', 'internal_errors']) assert.equal(body[k], null, `${k} must be null`);
  assert.match(body.trace_id, UUID);
  if (messageKey !== undefined) assert.equal(body.message_key, messageKey);
}

/** Asserts the headers every Write API answer carries. */
export function assertJsonHeaders(reply: Reply): void {
  assert.equal(reply.headers['content-type'], 'application/json');
  assert.equal(reply.headers['cache-control'], 'no-store');
}

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
