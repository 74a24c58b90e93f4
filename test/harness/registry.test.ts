import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { testRegistry } from './test-registry.ts';
import { startRegistry } from './registry.ts';
import { pidAlive, stillRunning } from './processes.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/** Confluent wire format: magic byte 0, then the schema id as a 4-byte big-endian int, then the payload. */
function assertFraming(buf: Buffer, id: number): void {
  assert.ok(buf.length >= 5, 'shorter than the 5-byte header');
  assert.equal(buf[0], 0, 'magic byte');
  assert.equal(buf.readInt32BE(1), id, 'schema id');
}

function rssMb(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

const orderSchema = {
  type: 'record',
  name: 'Order',
  namespace: 'test.harness',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'item', type: 'string' },
    { name: 'qty', type: 'int' },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
};

test('the registry answers the Confluent-compatible API', async (t) => {
  const r = await testRegistry();
  assert.match(r.url, /^http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7$/);
  const types = (await (await fetch(`${r.url}/schemas/types`)).json()) as string[];
  assert.deepEqual([...types].sort(), ['AVRO', 'JSON', 'PROTOBUF']);
  const config = (await (await fetch(`${r.url}/config`)).json()) as { compatibilityLevel: string };
  assert.equal(config.compatibilityLevel, 'BACKWARD', "Confluent's default, set by the harness");
  if (r.pid) t.diagnostic(`registry pid ${r.pid}, RSS ${rssMb(r.pid) ?? '?'} MB`);
});

test('Avro: register, encode with Confluent framing, decode', async () => {
  const { registry, client } = await testRegistry();
  const subject = unique('harness-avro-value');
  const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(orderSchema) }, { subject });
  assert.ok(Number.isInteger(id) && id > 0);
  const value = { id: 42, item: 'widget', qty: 3, note: 'fragile' };
  const buf = await registry.encode(id, value);
  assertFraming(buf, id);
  const schema = await registry.getSchema(id);
  assert.deepEqual(buf.subarray(5), schema.toBuffer(value), 'plain Avro binary after the header');
  // a client with an empty cache fetches the writer schema by the id in the header
  assert.deepEqual({ ...(await client().decode(buf)) }, value);
  assert.deepEqual({ ...(await registry.decode(await registry.encode(id, { ...value, note: null }))) }, { ...value, note: null });
  // ids name schema content, as in Confluent: the same schema under another subject has the same id
  const other = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(orderSchema) }, { subject: unique('harness-avro-other') });
  assert.equal(other.id, id);
  assert.equal(await registry.getLatestSchemaId(subject), id);
});

test('Avro: a compatible new version gets a new id, an incompatible one is refused', async () => {
  const { registry } = await testRegistry();
  const subject = unique('harness-avro-evolve');
  const v1 = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(orderSchema) }, { subject });
  const v2Schema = { ...orderSchema, fields: [...orderSchema.fields, { name: 'currency', type: 'string', default: 'EUR' }] };
  const v2 = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v2Schema) }, { subject });
  assert.notEqual(v2.id, v1.id);
  assert.equal(await registry.getLatestSchemaId(subject), v2.id);
  // a v1 record still decodes (with its own writer schema)
  const old = await registry.encode(v1.id, { id: 1, item: 'a', qty: 1, note: null });
  assert.deepEqual({ ...(await registry.decode(old)) }, { id: 1, item: 'a', qty: 1, note: null });
  const breaking = { ...orderSchema, fields: [{ name: 'id', type: 'string' }] };
  await assert.rejects(registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(breaking) }, { subject }), (err: { status?: number }) => err.status === 409);
});

test('Protobuf: register, encode with Confluent framing, decode', async () => {
  const { registry, client } = await testRegistry();
  const subject = unique('harness-proto-value');
  const schema = [
    'syntax = "proto3";',
    'package test.harness;',
    '',
    'message Reading {',
    '  string sensor = 1;',
    '  double value = 2;',
    '  int64 at = 3;',
    '  repeated string tags = 4;',
    '}',
    '',
  ].join('\n');
  const { id } = await registry.register({ type: SchemaType.PROTOBUF, schema }, { subject });
  const value = { sensor: 's-1', value: 21.5, at: 1_700_000_000_000, tags: ['a', 'b'] };
  const buf = await registry.encode(id, value);
  assertFraming(buf, id);
  // this client writes the message right after the id: no Confluent message-index bytes
  assert.equal(buf[5], 0x0a, 'tag of field 1 (string) right after the header');
  const expected = { sensor: 's-1', value: 21.5, at: '1700000000000', tags: ['a', 'b'] };
  const decoded = (await client().decode(buf)) as { toJSON(): unknown };
  assert.deepEqual(decoded.toJSON(), expected);
  // Confluent's own serializers put the message index ([0] = one 0x00 byte) there; the client reads both
  const javaStyle = Buffer.concat([buf.subarray(0, 5), Buffer.from([0]), buf.subarray(5)]);
  assert.deepEqual(((await registry.decode(javaStyle)) as { toJSON(): unknown }).toJSON(), expected);
  const stored = (await (await fetch(`${(await testRegistry()).url}/schemas/ids/${id}`)).json()) as { schemaType: string };
  assert.equal(stored.schemaType, 'PROTOBUF');
});

test('JSON Schema: register, encode with Confluent framing, decode, validate', async () => {
  const { registry, client } = await testRegistry();
  const subject = unique('harness-json-value');
  const schema = {
    // Apicurio refuses a JSON Schema it cannot recognise as one (a bare {"type":"object"})
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Event',
    type: 'object',
    properties: { kind: { type: 'string' }, n: { type: 'integer' } },
    required: ['kind', 'n'],
    additionalProperties: false,
  };
  const { id } = await registry.register({ type: SchemaType.JSON, schema: JSON.stringify(schema) }, { subject });
  const value = { kind: 'click', n: 7 };
  const buf = await registry.encode(id, value);
  assertFraming(buf, id);
  assert.deepEqual(JSON.parse(buf.subarray(5).toString('utf8')), value, 'plain JSON after the header');
  assert.deepEqual(await client().decode(buf), value);
  await assert.rejects(registry.encode(id, { kind: 'click' }), /invalid payload/);
});

test('pause makes the registry unreachable, resume brings it back with its schemas', async () => {
  const r = await testRegistry();
  if (!r.pid) return assert.fail('no registry pid to pause');
  const subject = unique('harness-pause');
  const { id } = await r.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(orderSchema) }, { subject });
  const buf = await r.registry.encode(id, { id: 7, item: 'x', qty: 1, note: null });
  const impatient = r.client({ timeoutMs: 1000, retries: 0 });
  const patient = r.client({ timeoutMs: 0 });
  r.pause();
  let pending: Promise<number> | undefined;
  try {
    const t0 = Date.now();
    await assert.rejects(impatient.getLatestSchemaId(subject), /timeout/i);
    assert.ok(Date.now() - t0 < 5000, 'failed by its timeout, not later');
    await assert.rejects(fetch(`${r.url}/subjects`, { signal: AbortSignal.timeout(1000) }), { name: 'TimeoutError' });
    // a client that has not seen the schema cannot decode; one that has keeps decoding from its cache
    await assert.rejects(r.client({ timeoutMs: 1000, retries: 0 }).decode(buf), /timeout/i);
    assert.equal((await r.registry.decode(buf)).id, 7);
    // a request without a timeout just waits
    let settled = false;
    pending = patient.getLatestSchemaId(subject).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(settled, false, 'answered while paused');
  } finally {
    r.resume();
  }
  assert.equal(await pending, id, 'the waiting request completes after resume');
  assert.equal(await impatient.getLatestSchemaId(subject), id, 'schemas kept across the pause');
  assert.deepEqual({ ...(await r.client().decode(buf)) }, { id: 7, item: 'x', qty: 1, note: null });
});

test('stop() ends the registry, also a paused one, and removes its directory', async (t) => {
  const own = await startRegistry({ compatibility: null });
  t.diagnostic(`own registry ready in ${own.startupMs} ms, RSS ${rssMb(own.pid) ?? '?'} MB`);
  assert.ok(pidAlive(own.pid));
  assert.ok(fs.existsSync(own.dataDir));
  // Apicurio's own default, kept by compatibility: null (Confluent's is BACKWARD)
  assert.deepEqual(await (await fetch(`${own.ccompatUrl}/config`)).json(), { compatibilityLevel: 'NONE' });
  own.pause();
  await own.stop();
  assert.equal(pidAlive(own.pid), false, 'registry process still running');
  assert.equal(fs.existsSync(own.dataDir), false, 'directory still present');
  await assert.rejects(fetch(`${own.ccompatUrl}/subjects`, { signal: AbortSignal.timeout(2000) }));
});

// Starts a registry in a child process that then dies in the given way; the
// registry and its directory must be gone afterwards.
async function registryLeftBy(mode: 'failing-test' | 'sigterm'): Promise<{ pid: number; dataDir: string; exitCode: number | null }> {
  const child = spawn(process.execPath, [path.join(here, 'fixtures', 'registry-then-die.ts'), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const m = /^registry (\d+) (\S+)$/m.exec(out);
    if (m && mode === 'sigterm') child.kill('SIGTERM');
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exitCode: number | null = await new Promise((resolve) => child.on('close', (code) => resolve(code)));
  const m = /^registry (\d+) (\S+)$/m.exec(out);
  assert.ok(m, `the child never started its registry: ${out}\n${err.slice(-3000)}`);
  return { pid: Number(m[1]), dataDir: m[2]!, exitCode };
}

test('the registry is stopped and its directory removed when a test fails', async () => {
  const left = await registryLeftBy('failing-test');
  assert.notEqual(left.exitCode, 0, 'the failing test should fail its process');
  assert.deepEqual(await stillRunning([left.pid]), [], 'registry process still running');
  assert.equal(fs.existsSync(left.dataDir), false, 'directory still present');
});

test('the registry is stopped and its directory removed when the run is interrupted', async () => {
  const left = await registryLeftBy('sigterm');
  assert.deepEqual(await stillRunning([left.pid]), [], 'registry process still running');
  assert.equal(fs.existsSync(left.dataDir), false, 'directory still present');
});
