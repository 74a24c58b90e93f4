// Which RocksetSinks share a consumer group on the same brokers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RocksetSink } from '../../operator/api/rocksetsink.ts';
import { groupConflicts, groupUse, type GroupUse } from '../../operator/group-conflicts.ts';

const sink = (namespace: string, name: string, kafka: Record<string, unknown>): RocksetSink =>
  ({ apiVersion: 'rockset-sink.dev/v1alpha1', kind: 'RocksetSink', metadata: { namespace, name, uid: name }, spec: { kafka, rockset: {} } }) as unknown as RocksetSink;

test('same group id and a broker in common conflict; another cluster, another group or the default group do not', () => {
  const sinks = [
    sink('shop', 'orders', { brokers: ['kafka-0:9092', 'kafka-1:9092'], groupId: 'g' }),
    sink('shop', 'refunds', { brokers: ['KAFKA-1:9092'], groupId: 'g' }),
    sink('staging', 'orders', { brokers: ['kafka-staging:9092'], groupId: 'g' }),
    sink('shop', 'payments', { brokers: ['kafka-0:9092'], groupId: 'other' }),
    sink('shop', 'defaulted', { brokers: ['kafka-0:9092'] }),
    sink('team', 'defaulted', { brokers: ['kafka-0:9092'] }),
  ];
  const uses = sinks.map(groupUse).filter((u): u is GroupUse => u !== undefined);
  const of = (key: string) => groupConflicts(uses.find((u) => u.key === key)!, uses);
  assert.deepEqual(of('shop/orders'), ['shop/refunds']);
  assert.deepEqual(of('shop/refunds'), ['shop/orders']);
  assert.deepEqual(of('staging/orders'), []);
  assert.deepEqual(of('shop/payments'), []);
  assert.deepEqual(of('shop/defaulted'), [], 'the default group is the sink\'s own');
  assert.equal(uses.find((u) => u.key === 'team/defaulted')?.groupId, 'rockset-sink.team.defaulted');
  // A sink naming another sink's default group shares it.
  uses.push(groupUse(sink('shop', 'copycat', { brokers: ['kafka-0:9092'], groupId: 'rockset-sink.shop.defaulted' }))!);
  assert.deepEqual(of('shop/defaulted'), ['shop/copycat']);
});

test('a spec without brokers takes no part', () => {
  assert.equal(groupUse(sink('a', 'b', {})), undefined);
});
