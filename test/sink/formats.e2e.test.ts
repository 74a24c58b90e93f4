// Avro, Protobuf and JSON Schema records through a real Schema Registry
// (Apicurio's Confluent-compatible API), framed the way Confluent producers frame
// them. The sinks run under a non-UTC time zone: no instant may shift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import protobuf from 'protobufjs';
import { WS, API_KEY, committedOffsets, produce, sinkConfig, startSinkProcess, stopSink, testKafka, waitForCount, withEmulator } from './helpers.ts';
import { testRegistry } from '../harness/test-registry.ts';
import { waitFor } from '../harness/ports.ts';
import { DLQ_HEADERS } from '../../sink/dlq.ts';

const TZ_ENV = { ROCKSET_API_KEY: API_KEY, TZ: 'Asia/Shanghai' };

function registryConfig(url: string, format: Record<string, string>) {
  return { schemaRegistry: { url, requestTimeoutMs: 1000 }, format };
}

async function storedJson(emu: Awaited<ReturnType<typeof withEmulator>>, id: string): Promise<string> {
  const res = await fetch(`${emu.url}/_emulator/collections/${WS}/events/docs/${encodeURIComponent(id)}`);
  assert.equal(res.status, 200, `document ${id} is missing`);
  return res.text();
}

const ORDER_AVRO = {
  type: 'record',
  name: 'Order',
  namespace: 'test.formats',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'big', type: 'long' },
    { name: 'placed', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'far', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'micros', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'local', type: { type: 'long', logicalType: 'local-timestamp-millis' } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'newYearsEve', type: { type: 'int', logicalType: 'date' } },
    { name: 'at', type: { type: 'int', logicalType: 'time-millis' } },
    { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
    { name: 'raw', type: 'bytes' },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['PLACED', 'SHIPPED'] } },
    { name: 'choice', type: ['null', 'string', 'long', { type: 'record', name: 'Nested', fields: [{ name: 'n', type: 'int' }] }] },
    { name: 'maybe', type: ['null', { type: 'array', items: 'string' }], default: null },
    { name: 'tags', type: { type: 'map', values: 'int' } },
  ],
};

test('Avro values map to exact documents (timestamps, dates, decimals, unions, longs beyond 2^53)', async (t) => {
  const k = await testKafka();
  const reg = await testRegistry();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('avro');
  const { id } = await reg.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(ORDER_AVRO) }, { subject: `${topic}-value` });
  // The library's Avro writer cannot take longs beyond 2^53 or raw logical values;
  // these are the encoded forms, written with the same schema.
  const value = {
    id: 1, big: 2 ** 50, placed: 1656495125234, far: 253402300799999, micros: 1656495125234567, local: 1656495125234,
    day: 20087 /* 2024-12-30 */, newYearsEve: 18627 /* 2020-12-31 */, at: 3723004, price: Buffer.from([0x30, 0x39]) /* 12345 */,
    raw: Buffer.from('hi'), status: 'SHIPPED', choice: { n: 7 }, maybe: null, tags: { a: 1 },
  };
  const framed = await reg.registry.encode(id, value);
  await produce(k, topic, [{ key: 'o1', value: framed, timestamp: '1700000000000' }]);
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic], registryConfig(reg.url, { value: 'avro' })), TZ_ENV);
  t.after(() => stopSink(sink));
  await waitForCount(emu, 1, 'events', 60_000, sink);
  const doc = JSON.parse(await storedJson(emu, 'o1'));
  assert.deepEqual(doc.placed, { __rockset_type: 'timestamp', value: 1656495125234000 });
  assert.deepEqual(doc.micros, { __rockset_type: 'timestamp', value: 1656495125234567 });
  assert.deepEqual(doc.local, { __rockset_type: 'datetime', value: '2022-06-29T09:32:05.234000' });
  assert.deepEqual(doc.day, { __rockset_type: 'date', value: '2024-12-30' });
  assert.deepEqual(doc.newYearsEve, { __rockset_type: 'date', value: '2020-12-31' });
  assert.deepEqual(doc.at, { __rockset_type: 'time', value: '01:02:03.004' });
  assert.equal(doc.price, '123.45');
  assert.equal(doc.raw, Buffer.from('hi').toString('base64'));
  assert.equal(doc.status, 'SHIPPED');
  assert.deepEqual(doc.choice, { n: 7 });
  assert.equal(doc.maybe, null);
  assert.deepEqual(doc.tags, { a: 1 });
  assert.equal(doc._event_time, 1700000000000000);
  const raw = await storedJson(emu, 'o1');
  assert.ok(raw.includes('"value":253402300799999000'), `year-9999 timestamp lost digits: ${raw}`);
});

test('Avro keys, schema evolution mid-stream, and an unknown schema id', async (t) => {
  const k = await testKafka();
  const reg = await testRegistry();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('avro-evolve');
  const dlq = `${topic}-dlq`;
  const v1 = { type: 'record', name: 'User', namespace: 'test.evolve', fields: [{ name: 'name', type: 'string' }] };
  const v2 = { ...v1, fields: [...v1.fields, { name: 'email', type: ['null', 'string'], default: null }] };
  const keySchema = { type: 'record', name: 'UserKey', namespace: 'test.evolve', fields: [{ name: 'tenant', type: 'string' }, { name: 'id', type: 'long' }] };
  const id1 = (await reg.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject: `${topic}-value` })).id;
  const id2 = (await reg.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v2) }, { subject: `${topic}-value` })).id;
  const kid = (await reg.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(keySchema) }, { subject: `${topic}-key` })).id;
  const key = (n: number) => reg.registry.encode(kid, { tenant: 't1', id: n });
  const unknown = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), Buffer.from('nonsense')]);
  await produce(k, topic, [
    { key: await key(1), value: await reg.registry.encode(id1, { name: 'ann' }) },
    { key: await key(2), value: await reg.registry.encode(id2, { name: 'bob', email: 'bob@example.com' }) },
    { key: await key(3), value: unknown },
    { key: await key(4), value: await reg.registry.encode(id1, { name: 'cy' }) },
  ]);
  const config = sinkConfig(k, emu.url, [topic], { errors: { tolerance: 'all', deadLetterTopic: dlq }, ...registryConfig(reg.url, { value: 'avro', key: 'avro' }) });
  const sink = startSinkProcess(config, TZ_ENV);
  t.after(() => stopSink(sink));
  await waitForCount(emu, 3, 'events', 60_000, sink);
  await waitFor('committed to the end', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === '4', { timeoutMs: 30_000 });
  const docs = Object.fromEntries((await emu.admin.docs(WS, 'events')).map((d) => [d._id, d]));
  assert.deepEqual(Object.keys(docs).sort(), ['{"id":1,"tenant":"t1"}', '{"id":2,"tenant":"t1"}', '{"id":4,"tenant":"t1"}']);
  assert.equal(docs['{"id":2,"tenant":"t1"}']?.email, 'bob@example.com');
  assert.equal(docs['{"id":1,"tenant":"t1"}']?.name, 'ann');
  assert.ok(sink.lines.some((l) => l.includes('dead-letter') && l.includes('unknown to the schema registry')), sink.lines.slice(-10).join('\n'));
  void DLQ_HEADERS;
});

test('a registry outage pauses the sink: nothing committed, nothing dead-lettered, everything written after', async (t) => {
  const k = await testKafka();
  const reg = await testRegistry();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('avro-outage');
  const dlq = `${topic}-dlq`;
  const schema = { type: 'record', name: 'Ping', namespace: `test.outage${Date.now()}`, fields: [{ name: 'n', type: 'int' }] };
  const { id } = await reg.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject: `${topic}-value` });
  await produce(k, topic, await Promise.all(Array.from({ length: 20 }, async (_, n) => ({ key: `p${n}`, value: await reg.registry.encode(id, { n }) }))));
  reg.pause();
  t.after(() => reg.resume());
  const config = sinkConfig(k, emu.url, [topic], { errors: { tolerance: 'all', deadLetterTopic: dlq }, ...registryConfig(reg.url, { value: 'avro' }) });
  const sink = startSinkProcess(config, TZ_ENV);
  t.after(() => stopSink(sink));
  await waitFor('the sink to notice the outage', () => sink.lines.some((l) => l.includes('schema registry unavailable')), { timeoutMs: 30_000 });
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(await emu.admin.count(WS, 'events'), 0);
  assert.equal((await committedOffsets(k, config.kafka.groupId, topic))[0], '-1', 'nothing may be committed during the outage');
  assert.ok(!sink.lines.some((l) => l.includes('sent to the dead-letter topic')), 'an outage sent records to the dead-letter topic');
  reg.resume();
  await waitForCount(emu, 20, 'events', 60_000, sink);
  await waitFor('committed to the end', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === '20', { timeoutMs: 30_000 });
});

test('auto: framed records through the registry, plain JSON as JSON, on one topic', async (t) => {
  const k = await testKafka();
  const reg = await testRegistry();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('auto');
  const schema = { type: 'record', name: 'Mixed', namespace: 'test.auto', fields: [{ name: 'src', type: 'string' }, { name: 'big', type: 'long' }] };
  const { id } = await reg.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject: `${topic}-value` });
  await produce(k, topic, [
    { key: 'a', value: await reg.registry.encode(id, { src: 'avro', big: 42 }) },
    { key: 'j', value: '{"src":"json","big":9007199254740993}' },
  ]);
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic], registryConfig(reg.url, { value: 'auto' })), TZ_ENV);
  t.after(() => stopSink(sink));
  await waitForCount(emu, 2, 'events', 60_000, sink);
  assert.equal(JSON.parse(await storedJson(emu, 'a')).src, 'avro');
  assert.ok((await storedJson(emu, 'j')).includes('9007199254740993'));
});

test('Protobuf and JSON Schema values through the registry', async (t) => {
  const k = await testKafka();
  const reg = await testRegistry();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const protoTopic = await k.createTopic('proto');
  const jsonTopic = await k.createTopic('jsonschema');
  const proto = `syntax = "proto3";
package test.formats;
import "google/protobuf/timestamp.proto";
message Event {
  int64 id = 1;
  string name = 2;
  google.protobuf.Timestamp at = 3;
  repeated string tags = 4;
}`;
  const pid = (await reg.registry.register({ type: SchemaType.PROTOBUF, schema: proto }, { subject: `${protoTopic}-value` })).id;
  const jsonSchema = { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } };
  const jid = (await reg.registry.register({ type: SchemaType.JSON, schema: JSON.stringify(jsonSchema) }, { subject: `${jsonTopic}-value` })).id;
  // Framed as Confluent's Java serializer frames it: magic 0, schema id, message indexes ([0] is the
  // single byte 0), payload. The client library writes no message indexes and cannot resolve
  // google/protobuf imports, so protobufjs encodes here.
  const root = new protobuf.Root();
  root.addJSON(protobuf.common.get('google/protobuf/timestamp.proto')!.nested!);
  protobuf.parse(proto, root);
  const Event = root.lookupType('test.formats.Event');
  const payload = Buffer.from(Event.encode(Event.fromObject({ id: 12, name: 'proto', at: { seconds: 1656495125, nanos: 234000000 }, tags: ['x', 'y'] })).finish());
  const header = Buffer.alloc(5);
  header.writeUInt32BE(pid, 1);
  const keyProto = 'syntax = "proto3";\npackage test.keys;\nmessage EventKey { string source = 1; int64 seq = 2; }';
  const protoKid = (await reg.registry.register({ type: SchemaType.PROTOBUF, schema: keyProto }, { subject: `${protoTopic}-key` })).id;
  const keyRoot = protobuf.parse(keyProto).root;
  const EventKey = keyRoot.lookupType('test.keys.EventKey');
  const protoKeyHeader = Buffer.alloc(5);
  protoKeyHeader.writeUInt32BE(protoKid, 1);
  const keyBytes = Buffer.concat([protoKeyHeader, Buffer.from([0]), Buffer.from(EventKey.encode(EventKey.fromObject({ source: 'p', seq: 1 })).finish())]);
  await produce(k, protoTopic, [{ key: keyBytes, value: Buffer.concat([header, Buffer.from([0]), payload]) }]);
  const keySchema = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { region: { type: 'string' }, n: { type: 'integer' } } };
  const kid = (await reg.registry.register({ type: SchemaType.JSON, schema: JSON.stringify(keySchema) }, { subject: `${jsonTopic}-key` })).id;
  // the library's encoder cannot write an integer beyond 2^53: frame the JSON text by hand
  const keyHeader = Buffer.alloc(5);
  keyHeader.writeUInt32BE(kid, 1);
  const key = Buffer.concat([keyHeader, Buffer.from('{"region":"eu","n":9007199254740993}')]);
  await produce(k, jsonTopic, [{ key, value: await reg.registry.encode(jid, { id: 7, name: 'json' }) }]);
  const pSink = startSinkProcess(sinkConfig(k, emu.url, [protoTopic], registryConfig(reg.url, { value: 'protobuf', key: 'protobuf' })), TZ_ENV);
  t.after(() => stopSink(pSink));
  const jSink = startSinkProcess(sinkConfig(k, emu.url, [jsonTopic], registryConfig(reg.url, { value: 'jsonschema', key: 'jsonschema' })), TZ_ENV);
  t.after(() => stopSink(jSink));
  await waitForCount(emu, 2, 'events', 60_000, pSink);
  // a Protobuf key becomes canonical JSON of its fields
  const p = JSON.parse(await storedJson(emu, '{"seq":1,"source":"p"}'));
  assert.equal(p.id, 12);
  assert.equal(p.name, 'proto');
  assert.deepEqual(p.at, { __rockset_type: 'timestamp', value: 1656495125234000 });
  assert.deepEqual(p.tags, ['x', 'y']);
  // a JSON Schema key becomes canonical JSON (sorted keys, exact digits)
  const j = JSON.parse(await storedJson(emu, '{"n":9007199254740993,"region":"eu"}'));
  assert.equal(j.id, 7);
  assert.equal(j.name, 'json');
});
