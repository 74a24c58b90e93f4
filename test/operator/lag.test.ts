// Consumer lag: the pure arithmetic, then readLag against the run's broker.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { computeLag, LagUnavailable, matchTopics, readLag, type CommittedOffset, type Watermark } from '../../operator/lag.ts';
import { testKafka, type TestKafka } from '../harness/test-kafka.ts';
import { freePort } from '../harness/ports.ts';
import { produce } from '../sink/helpers.ts';
import { lagClientConfig } from '../../operator/lag-poller.ts';

const w = (topic: string, partition: number, high: string, low?: string): Watermark => (low === undefined ? { topic, partition, high } : { topic, partition, high, low });
const c = (topic: string, partition: number, offset: string): CommittedOffset => ({ topic, partition, offset });

describe('computeLag', () => {
  const cases: { name: string; committed: CommittedOffset[]; marks: Watermark[]; total: number; topics: Record<string, number>; lags: number[] }[] = [
    { name: 'no watermarks: nothing', committed: [], marks: [], total: 0, topics: {}, lags: [] },
    { name: 'no commits: everything from low', committed: [], marks: [w('a', 0, '10'), w('a', 1, '5', '0'), w('b', 0, '7')], total: 22, topics: { a: 15, b: 7 }, lags: [10, 5, 7] },
    { name: "'-1' means no commit", committed: [c('a', 0, '-1'), c('a', 1, '-1')], marks: [w('a', 0, '10'), w('a', 1, '4')], total: 14, topics: { a: 14 }, lags: [10, 4] },
    { name: 'partial commits', committed: [c('a', 0, '3'), c('a', 2, '9')], marks: [w('a', 0, '10'), w('a', 1, '10'), w('a', 2, '10')], total: 18, topics: { a: 18 }, lags: [7, 10, 1] },
    { name: 'committed == high: 0', committed: [c('a', 0, '10'), c('b', 0, '0')], marks: [w('a', 0, '10'), w('b', 0, '0')], total: 0, topics: { a: 0, b: 0 }, lags: [0, 0] },
    { name: 'retention: no commit counts from low', committed: [], marks: [w('a', 0, '100', '60'), w('a', 1, '100', '100')], total: 40, topics: { a: 40 }, lags: [40, 0] },
    { name: 'retention: a commit below low counts from low', committed: [c('a', 0, '10')], marks: [w('a', 0, '100', '60')], total: 40, topics: { a: 40 }, lags: [40] },
    { name: 'retention: a commit above low counts from the commit', committed: [c('a', 0, '80')], marks: [w('a', 0, '100', '60')], total: 20, topics: { a: 20 }, lags: [20] },
    { name: 'committed beyond high (truncated topic): clamped at 0', committed: [c('a', 0, '50')], marks: [w('a', 0, '20')], total: 0, topics: { a: 0 }, lags: [0] },
    { name: 'commits for partitions without watermarks are ignored', committed: [c('a', 7, '1'), c('z', 0, '1')], marks: [w('a', 0, '3')], total: 3, topics: { a: 3 }, lags: [3] },
  ];
  for (const t of cases) {
    test(t.name, () => {
      const lag = computeLag(t.committed, t.marks);
      assert.equal(lag.total, t.total);
      assert.deepEqual(lag.topics, t.topics);
      assert.deepEqual(lag.partitions.map((p) => p.lag), t.lags);
    });
  }

  test('partitions: sorted, with committed (null when none), high and low', () => {
    const lag = computeLag([c('b', 1, '2')], [w('b', 1, '5', '1'), w('a', 2, '4'), w('b', 0, '3'), w('a', 0, '1')]);
    assert.deepEqual(lag.partitions, [
      { topic: 'a', partition: 0, committed: null, high: '1', low: '0', lag: 1 },
      { topic: 'a', partition: 2, committed: null, high: '4', low: '0', lag: 4 },
      { topic: 'b', partition: 0, committed: null, high: '3', low: '0', lag: 3 },
      { topic: 'b', partition: 1, committed: '2', high: '5', low: '1', lag: 3 },
    ]);
  });

  test('offsets beyond 2^53: exact BigInt math', () => {
    // as doubles both ends round to 2^63 and the lag would come out 0
    const max = '9223372036854775807'; // 2^63 - 1
    const lag = computeLag([c('a', 0, '9223372036854775000'), c('a', 1, '9007199254740993')], [w('a', 0, max), w('a', 1, '9007199254741000'), w('b', 0, '9007199254740995', '9007199254740993')]);
    assert.deepEqual(lag.partitions.map((p) => p.lag), [807, 7, 2]);
    assert.equal(lag.total, 816);
    assert.deepEqual(lag.topics, { a: 814, b: 2 });
    assert.equal(lag.partitions[0]!.committed, '9223372036854775000');
    assert.equal(lag.partitions[0]!.high, max);
  });

  test('a lag beyond 2^53 in total is summed exactly before becoming a number', () => {
    const lag = computeLag([], [w('a', 0, '9007199254740993'), w('a', 1, '1')]);
    assert.equal(lag.total, Number(9007199254740994n));
  });

  test('malformed offsets are a TypeError naming the partition', () => {
    assert.throws(() => computeLag([c('a', 0, 'x')], [w('a', 0, '1')]), { name: 'TypeError', message: /a\/0.*"x"/ });
    assert.throws(() => computeLag([], [w('a', 0, '1.5')]), /high watermark of a\/0/);
  });
});

describe('matchTopics', () => {
  test('a pattern, without internal topics, g flag not stateful', () => {
    assert.deepEqual(matchTopics(['orders-2', '__consumer_offsets', 'orders-1', 'users'], /orders|offsets/g), ['orders-1', 'orders-2']);
  });
});

describe('readLag against the broker', () => {
  let k: TestKafka;
  let admin: Admin;
  let topic: string;
  let other: string;
  const prefix = `lag${Math.random().toString(36).slice(2, 8)}`;

  before(async () => {
    k = await testKafka();
    admin = k.kafka.admin();
    await admin.connect();
    topic = await k.createTopic(`${prefix}-orders`, { partitions: 3 });
    other = await k.createTopic(`${prefix}-users`, { partitions: 1 });
    // 30 records: 10 to each partition of `topic`; 4 to `other`
    await produce(k, topic, Array.from({ length: 30 }, (_, i) => ({ value: `v${i}`, partition: i % 3 })));
    await produce(k, other, Array.from({ length: 4 }, (_, i) => ({ value: `u${i}` })));
  });

  after(async () => {
    await admin?.disconnect();
  });

  test('a group that never committed: all 30 records', async () => {
    const lag = await readLag(admin, `${prefix}-never`, [topic]);
    assert.equal(lag.total, 30);
    assert.deepEqual(lag.topics, { [topic]: 30 });
    assert.deepEqual(lag.partitions.map((p) => [p.partition, p.committed, p.high, p.lag]), [[0, null, '10', 10], [1, null, '10', 10], [2, null, '10', 10]]);
  });

  test('a consumer commits some offsets: exact lag per partition, topic and total; then committed to the end: 0', async () => {
    const groupId = `${prefix}-consumer`;
    const consumer = k.kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic, other], fromBeginning: true });
      await consumer.run({ autoCommit: false, eachMessage: async () => {} });
      await consumer.commitOffsets([
        { topic, partition: 0, offset: '4' },
        { topic, partition: 2, offset: '10' },
        { topic: other, partition: 0, offset: '1' },
      ]);
      const lag = await readLag(admin, groupId, [topic, other]);
      assert.deepEqual(lag.partitions.map((p) => [p.topic, p.partition, p.committed, p.lag]), [
        [topic, 0, '4', 6],
        [topic, 1, null, 10],
        [topic, 2, '10', 0],
        [other, 0, '1', 3],
      ]);
      assert.deepEqual(lag.topics, { [topic]: 16, [other]: 3 });
      assert.equal(lag.total, 19);

      // the same group read through a pattern
      const byPattern = await readLag(admin, groupId, new RegExp(`^${prefix}-`));
      assert.deepEqual(byPattern, lag);

      await consumer.commitOffsets([0, 1, 2].map((partition) => ({ topic, partition, offset: '10' })).concat([{ topic: other, partition: 0, offset: '4' }]));
      const done = await readLag(admin, groupId, [topic, other]);
      assert.equal(done.total, 0);
      assert.deepEqual(done.topics, { [topic]: 0, [other]: 0 });
    } finally {
      await consumer.disconnect();
    }
  });

  test('admin.setOffsets for an inactive group', async () => {
    const groupId = `${prefix}-inactive`;
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '10' }, { partition: 1, offset: '7' }, { partition: 2, offset: '0' }] });
    const lag = await readLag(admin, groupId, [topic]);
    assert.deepEqual(lag.partitions.map((p) => p.lag), [0, 3, 10]);
    assert.equal(lag.total, 13);
  });

  test('a pattern matching nothing: zero lag, no broker errors', async () => {
    const lag = await readLag(admin, `${prefix}-never`, /^no-such-topic-prefix-xyz/);
    assert.deepEqual(lag, { total: 0, topics: {}, partitions: [] });
  });

  test('an unknown topic: LagUnavailable naming the broker problem', async () => {
    const err = await readLag(admin, `${prefix}-never`, [`${prefix}-missing`], { timeoutMs: 15_000 }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof LagUnavailable, String(err));
    assert.match(err.message, /group ".*-never" unavailable \(unknownTopic\): topic not on the cluster: .*-missing$/);
    assert.equal(err.stage, 'unknownTopic');
  });
});

describe('readLag when the broker is unreachable', () => {
  test('a closed port: LagUnavailable within the timeout', async () => {
    const port = await freePort();
    const kafka = new Kafka({ clientId: 'lag-test', brokers: [`127.0.0.1:${port}`], retry: { retries: 0 }, connectionTimeout: 300, requestTimeout: 1000, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const started = Date.now();
    try {
      const err = await readLag(admin, 'g', ['t'], { timeoutMs: 3000 }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof LagUnavailable, String(err));
      assert.ok(Date.now() - started < 3500, `took ${Date.now() - started} ms`);
      assert.match(err.message, new RegExp(`unavailable \\(listTopics\\): .*ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
      assert.equal(err.stage, 'listTopics');
      assert.equal(err.groupId, 'g');
    } finally {
      await admin.disconnect();
    }
  });

  test('a broker that accepts and never answers: LagUnavailable at the timeout', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const kafka = new Kafka({ clientId: 'lag-test', brokers: [`127.0.0.1:${port}`], retry: { retries: 0 }, connectionTimeout: 300, requestTimeout: 30_000, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const started = Date.now();
    try {
      const err = await readLag(admin, 'g', ['t'], { timeoutMs: 500 }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof LagUnavailable, String(err));
      const took = Date.now() - started;
      // kafkajs would wait requestTimeout (30 s); readLag gives up at its own timeout
      assert.ok(took >= 450 && took < 1500, `took ${took} ms`);
      assert.equal(err.stage, 'timeout');
      assert.match(err.message, /no answer from the brokers within 500 ms/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await admin.disconnect();
    }
  });
});

describe('readLag with a stub admin', () => {
  const stub = (over: Partial<Record<'listTopics' | 'fetchOffsets' | 'fetchTopicOffsets', (...a: any[]) => Promise<any>>>): Admin =>
    ({
      listTopics: async () => ['t'],
      fetchOffsets: async () => [{ topic: 't', partitions: [{ partition: 0, offset: '2', metadata: null }] }],
      fetchTopicOffsets: async () => [{ partition: 0, offset: '5', high: '5', low: '0' }],
      ...over,
    }) as unknown as Admin;

  test('the inputs are passed through to computeLag', async () => {
    assert.equal((await readLag(stub({}), 'g', ['t', 't'])).total, 3);
  });

  test('a failing fetchTopicOffsets: LagUnavailable with its cause', async () => {
    const boom = new Error('leader not available');
    const err = await readLag(stub({ fetchTopicOffsets: async () => { throw boom; } }), 'g', ['t']).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof LagUnavailable);
    assert.equal(err.stage, 'fetchTopicOffsets');
    assert.equal(err.cause, boom);
    assert.match(err.message, /leader not available/);
  });

  test('an aborted signal: LagUnavailable at once', async () => {
    const never = () => new Promise<never>(() => {});
    const err = await readLag(stub({ listTopics: never }), 'g', ['t'], { signal: AbortSignal.abort(new Error('shutting down')) }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof LagUnavailable);
    assert.equal(err.stage, 'aborted');
    assert.match(err.message, /shutting down/);
  });
});

describe('lagClientConfig', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
  const sasl = { mechanism: 'scram-sha-512', username: 'sink' };
  test('a sink that trusts a private CA: the lag reader trusts it too', () => {
    const { client } = lagClientConfig({ tls: { caSecretRef: { name: 'kafka-ca', key: 'ca.crt' } } }, ['k:9093'], true, { ca: PEM });
    assert.deepEqual(client.ssl, { ca: [PEM] });
  });
  test('TLS without a CA uses the system trust; plaintext stays plaintext', () => {
    assert.equal(lagClientConfig({}, ['k:9093'], true, {}).client.ssl, true);
    assert.equal(lagClientConfig({}, ['k:9092'], false, {}).client.ssl, false);
  });
  test('SASL credentials go to the client; the connection identity holds digests, never a secret', () => {
    const a = lagClientConfig({ sasl, tls: {} }, ['k:9093'], true, { password: 'hunter2-secret', ca: PEM });
    assert.deepEqual(a.client.sasl, { ...sasl, password: 'hunter2-secret' });
    assert.ok(!a.connection.includes('hunter2-secret') && !a.connection.includes('MIIBfake'), a.connection);
    // Another password or CA is another connection (a rotated Secret reconnects).
    assert.notEqual(lagClientConfig({ sasl, tls: {} }, ['k:9093'], true, { password: 'other', ca: PEM }).connection, a.connection);
    assert.notEqual(lagClientConfig({ sasl, tls: {} }, ['k:9093'], true, { password: 'hunter2-secret', ca: `${PEM}\n` }).connection, a.connection);
    assert.equal(lagClientConfig({ sasl, tls: {} }, ['k:9093'], true, { password: 'hunter2-secret', ca: PEM }).connection, a.connection);
  });
});
