// Pure parts of the cached reads: the pod selector match, and what is kept of a Secret.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { selectorMatcher } from '../../operator/cached-kube.ts';
import { podSummary, secretMeta, withoutManagedFields } from '../../operator/controller.ts';

describe('selectorMatcher', () => {
  const m = selectorMatcher('app.kubernetes.io/name=rockset-sink,app.kubernetes.io/instance=orders');
  test('every pair must match', () => {
    assert.equal(m({ 'app.kubernetes.io/name': 'rockset-sink', 'app.kubernetes.io/instance': 'orders', extra: 'x' }), true);
    assert.equal(m({ 'app.kubernetes.io/name': 'rockset-sink', 'app.kubernetes.io/instance': 'orders-2' }), false);
    assert.equal(m({ 'app.kubernetes.io/instance': 'orders' }), false);
    assert.equal(m(undefined), false);
  });
  test('set-based selectors are refused, not misread', () => {
    assert.throws(() => selectorMatcher('tier in (a,b)'), /unsupported label selector/);
  });
});

describe('secretMeta', () => {
  test('keeps the name and version of a Secret\'s metadata; no annotation or label survives', () => {
    // What a metadata-only watch delivers (PartialObjectMetadata): no data at all.
    const raw = {
      apiVersion: 'meta.k8s.io/v1',
      kind: 'PartialObjectMetadata',
      metadata: {
        name: 'rockset',
        namespace: 'data',
        resourceVersion: '42',
        uid: 'u-1',
        labels: { team: 'data' },
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"api-key":"c2VjcmV0"}}' },
      },
    };
    const kept = secretMeta(raw);
    assert.deepEqual(kept, { metadata: { name: 'rockset', namespace: 'data', resourceVersion: '42', uid: 'u-1' } });
    assert.ok(!JSON.stringify(kept).includes('c2VjcmV0'));
  });
});

describe('what the caches keep', () => {
  test('managedFields are dropped, everything else stays', () => {
    const d = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'n', resourceVersion: '7', managedFields: [{ manager: 'x', fieldsV1: {} }] }, spec: { replicas: 2 } };
    assert.deepEqual(withoutManagedFields(d), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'n', resourceVersion: '7' }, spec: { replicas: 2 } });
  });
  test('a pod keeps its identity, labels, deletion, scheduling condition and container states only', () => {
    const pod = {
      metadata: { name: 'p', namespace: 'n', labels: { a: 'b' }, resourceVersion: '9', uid: 'u', managedFields: [{}], annotations: { big: 'x'.repeat(100) }, deletionTimestamp: '2026-12-06T10:00:00Z' },
      spec: { containers: [{ name: 'sink', image: 'i', env: [{ name: 'E', value: 'v' }] }] },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'True' }],
        containerStatuses: [{ name: 'sink', ready: false, restartCount: 3, image: 'i', imageID: 'sha', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, message: 'AuthFailed: no' } } }],
      },
    };
    assert.deepEqual(podSummary(pod), {
      metadata: { name: 'p', namespace: 'n', labels: { a: 'b' }, resourceVersion: '9', uid: 'u', deletionTimestamp: '2026-12-06T10:00:00Z' },
      status: {
        containerStatuses: [{ name: 'sink', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, message: 'AuthFailed: no' } } }],
        conditions: [{ type: 'PodScheduled', status: 'True' }],
      },
    });
  });
});
