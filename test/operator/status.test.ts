// The pure status computation: observations in, RocksetSink status out.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { RocksetSinkStatusSchema, type Condition, type RocksetSinkStatus } from '../../operator/api/rocksetsink.ts';
import { computeStatus, parseTerminationMessage, statusChanged, type Observed, type ObservedDeployment } from '../../operator/status.ts';

type AddFormats = (ajv: Ajv) => Ajv;
const addFormats: AddFormats = (addFormatsModule as unknown as { default: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
/** The status the CRD's schema accepts (the same TypeBox definition). */
const checkStatus = ajv.compile(RocksetSinkStatusSchema);

const T0 = new Date('2026-11-25T10:00:00.123Z');
const T1 = new Date('2026-11-25T10:05:00.456Z');
const T2 = new Date('2026-11-25T10:10:00Z');
const SELECTOR = 'app.kubernetes.io/name=rockset-sink,app.kubernetes.io/instance=orders';

/** A Deployment that has rolled out `n` available workers for its generation. */
const healthyDeployment = (n: number, extra: Partial<ObservedDeployment> = {}): ObservedDeployment => ({
  generation: 2,
  observedGeneration: 2,
  replicas: n,
  readyReplicas: n,
  availableReplicas: n,
  updatedReplicas: n,
  ...extra,
});

/** A healthy sink with 3 workers. */
function healthy(over: Partial<Observed> = {}): Observed {
  return {
    generation: 5,
    spec: { replicas: 3 },
    deployment: healthyDeployment(3),
    pods: [
      { name: 'orders-sink-7d9f-a', restartCount: 0 },
      { name: 'orders-sink-7d9f-b', restartCount: 0 },
      { name: 'orders-sink-7d9f-c', restartCount: 0 },
    ],
    lag: { total: 12, topics: { orders: 10, refunds: 2 } },
    selector: SELECTOR,
    ...over,
  };
}

function cond(s: RocksetSinkStatus, type: string): Condition {
  const c = s.conditions?.find((x) => x.type === type);
  assert.ok(c, `condition ${type} present`);
  return c;
}

/** type -> "Status/Reason" */
function summary(s: RocksetSinkStatus): Record<string, string> {
  return Object.fromEntries((s.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));
}

describe('parseTerminationMessage', () => {
  const cases: { name: string; input: string | undefined; want: { reason: string; message: string } | undefined }[] = [
    { name: 'undefined', input: undefined, want: undefined },
    { name: 'empty', input: '', want: undefined },
    { name: 'blank', input: '  \n ', want: undefined },
    { name: 'AuthFailed', input: 'AuthFailed: Rockset rejected the API key (401)', want: { reason: 'AuthFailed', message: 'Rockset rejected the API key (401)' } },
    { name: 'ConfigInvalid from sink/main.ts', input: 'ConfigInvalid: kafka.brokers: must not be empty\n', want: { reason: 'ConfigInvalid', message: 'kafka.brokers: must not be empty' } },
    { name: 'multi-line text kept', input: 'BadRecord: orders/3@17: not JSON\nat offset 17', want: { reason: 'BadRecord', message: 'orders/3@17: not JSON\nat offset 17' } },
    { name: 'no reason', input: 'Killed', want: { reason: 'WorkerFailed', message: 'Killed' } },
    { name: 'lower-case word is not a reason', input: 'panic: oh no', want: { reason: 'WorkerFailed', message: 'panic: oh no' } },
    { name: 'spaces before the colon', input: 'Auth Failed: x', want: { reason: 'WorkerFailed', message: 'Auth Failed: x' } },
    { name: 'JSON log line', input: '{"level":50,"msg":"boom"}', want: { reason: 'WorkerFailed', message: '{"level":50,"msg":"boom"}' } },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(parseTerminationMessage(c.input), c.want));
});

describe('computeStatus: conditions per rule', () => {
  const cases: { name: string; observed: Observed; want: Record<string, string>; messages?: Record<string, RegExp> }[] = [
    {
      name: 'healthy: Ready, every dependency True, not reconciling, not stalled',
      observed: healthy(),
      want: {
        Ready: 'True/Available',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'True/MinimumReplicasAvailable',
        Reconciling: 'False/RolloutComplete',
        Stalled: 'False/NotStalled',
      },
      messages: { Ready: /^3\/3 workers available$/ },
    },
    {
      name: 'invalid spec: ConfigValid False/InvalidSpec "<field>: <message>", Stalled, Ready False',
      observed: healthy({ configProblem: { field: 'kafka.topics', message: 'set exactly one of topics and topicPattern' } }),
      want: {
        Ready: 'False/InvalidSpec',
        ConfigValid: 'False/InvalidSpec',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'True/MinimumReplicasAvailable',
        Reconciling: 'False/Stalled',
        Stalled: 'True/InvalidSpec',
      },
      messages: { ConfigValid: /^kafka\.topics: set exactly one of topics and topicPattern$/, Ready: /^kafka\.topics: / },
    },
    {
      name: 'missing secrets: SecretsResolved False/SecretNotFound naming them, Stalled, Ready False',
      observed: healthy({ missingSecrets: ['rockset/api-key', 'kafka-user/password'] }),
      want: {
        Ready: 'False/SecretNotFound',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'False/SecretNotFound',
        WorkersAvailable: 'True/MinimumReplicasAvailable',
        Reconciling: 'False/Stalled',
        Stalled: 'True/SecretNotFound',
      },
      messages: { SecretsResolved: /^Secret references not found: kafka-user\/password, rockset\/api-key$/ },
    },
    {
      name: 'invalid spec wins over missing secrets in Ready and Stalled',
      observed: healthy({ configProblem: { field: 'retry.maxBackoffMs', message: 'too small' }, missingSecrets: ['rockset/api-key'] }),
      want: {
        Ready: 'False/InvalidSpec',
        ConfigValid: 'False/InvalidSpec',
        SecretsResolved: 'False/SecretNotFound',
        WorkersAvailable: 'True/MinimumReplicasAvailable',
        Reconciling: 'False/Stalled',
        Stalled: 'True/InvalidSpec',
      },
    },
    {
      name: 'apply error (name conflict): Stalled True/ApplyFailed',
      observed: healthy({ applyError: 'Deployment orders-sink exists and is not owned by RocksetSink orders' }),
      want: {
        Ready: 'False/ApplyFailed',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'True/MinimumReplicasAvailable',
        Reconciling: 'False/Stalled',
        Stalled: 'True/ApplyFailed',
      },
      messages: { Stalled: /not owned by RocksetSink orders/ },
    },
    {
      name: 'no Deployment yet: Reconciling, Ready False',
      observed: healthy({ deployment: undefined, pods: [] }),
      want: {
        Ready: 'False/DeploymentNotFound',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'False/ReplicasUnavailable',
        Reconciling: 'True/DeploymentNotFound',
        Stalled: 'False/NotStalled',
      },
    },
    {
      name: 'Deployment has not observed its generation: Reconciling, Ready False',
      observed: healthy({ deployment: healthyDeployment(3, { generation: 3, observedGeneration: 2 }) }),
      want: {
        Ready: 'False/RolloutInProgress',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'True/MinimumReplicasAvailable',
        Reconciling: 'True/RolloutInProgress',
        Stalled: 'False/NotStalled',
      },
    },
    {
      name: 'rolling update with enough available workers: Reconciling but still Ready',
      observed: healthy({ deployment: healthyDeployment(3, { replicas: 4, updatedReplicas: 1 }) }),
      want: {
        Ready: 'True/Available',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'True/MinimumReplicasAvailable',
        Reconciling: 'True/RolloutInProgress',
        Stalled: 'False/NotStalled',
      },
      messages: { Reconciling: /1\/3 workers updated, 4 running/ },
    },
    {
      name: 'too few available workers: WorkersAvailable and Ready False/ReplicasUnavailable, with the Deployment\'s message',
      observed: healthy({
        deployment: healthyDeployment(3, {
          availableReplicas: 1,
          readyReplicas: 1,
          conditions: [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' }],
        }),
      }),
      want: {
        Ready: 'False/ReplicasUnavailable',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'False/ReplicasUnavailable',
        Reconciling: 'False/RolloutComplete',
        Stalled: 'False/NotStalled',
      },
      messages: { WorkersAvailable: /^1\/3 workers available: Deployment does not have minimum availability\.$/ },
    },
    {
      name: 'another sink consumes as the same group on the same brokers: Ready False and Stalled True/GroupConflict naming it and the fix',
      observed: healthy({ groupConflict: { groupId: 'rockset-orders', others: ['shop/orders-eu'] } }),
      want: {
        Ready: 'False/GroupConflict',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'True/MinimumReplicasAvailable',
        Reconciling: 'False/Stalled',
        Stalled: 'True/GroupConflict',
      },
      messages: {
        Ready: /^kafka\.groupId: consumer group "rockset-orders" on the same brokers is also used by RocksetSink shop\/orders-eu: .*Give each sink its own kafka\.groupId, or remove kafka\.groupId/,
      },
    },
    {
      name: 'the Deployment cannot create pods (ReplicaFailure): Ready and WorkersAvailable False/FailedCreate naming the cause, Stalled',
      observed: healthy({
        deployment: healthyDeployment(3, {
          replicas: 0,
          availableReplicas: 0,
          readyReplicas: 0,
          updatedReplicas: 0,
          conditions: [
            { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
            { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "orders-sink-7d9f-" is forbidden: error looking up service account data/x: serviceaccount "x" not found' },
          ],
        }),
        pods: [],
      }),
      want: {
        Ready: 'False/FailedCreate',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'False/FailedCreate',
        Reconciling: 'False/Stalled',
        Stalled: 'True/FailedCreate',
      },
      messages: {
        WorkersAvailable: /^0\/3 workers available: The Deployment cannot create worker pods: pods "orders-sink-7d9f-" is forbidden: .*serviceaccount "x" not found$/,
        Ready: /serviceaccount "x" not found/,
      },
    },
    {
      name: 'a pod the scheduler cannot place: WorkersAvailable and Ready False/Unschedulable with the scheduler\'s message, not Stalled',
      observed: healthy({
        deployment: healthyDeployment(3, {
          availableReplicas: 2,
          readyReplicas: 2,
          conditions: [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' }],
        }),
        pods: [
          { name: 'orders-sink-7d9f-z', restartCount: 0, unschedulable: { reason: 'Unschedulable', message: '0/2 nodes are available: 2 Insufficient cpu.' } },
          { name: 'orders-sink-7d9f-c', restartCount: 0, unschedulable: { reason: 'Unschedulable', message: '0/2 nodes are available: 2 Insufficient memory.' } },
        ],
      }),
      want: {
        Ready: 'False/Unschedulable',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'False/Unschedulable',
        Reconciling: 'False/RolloutComplete',
        Stalled: 'False/NotStalled',
      },
      messages: { WorkersAvailable: /^2\/3 workers available: worker pod orders-sink-7d9f-c cannot be scheduled: Unschedulable: 0\/2 nodes are available: 2 Insufficient memory\.; 1 more pod pending$/ },
    },
    {
      name: 'scaling down from 4 to 3: never "4/3", the extra pod and the terminating one are said apart',
      observed: healthy({ deployment: healthyDeployment(3, { replicas: 4, availableReplicas: 4, readyReplicas: 4 }), terminating: 1 }),
      want: {
        Ready: 'True/Available',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'True/MinimumReplicasAvailable',
        Reconciling: 'True/RolloutInProgress',
        Stalled: 'False/NotStalled',
      },
      messages: { Ready: /^3\/3 workers available \(1 more until the scale-down or rollout finishes, 1 terminating\)$/, WorkersAvailable: /^3\/3 workers available \(/ },
    },
    {
      name: 'paused and scaled down: Ready True/Paused, WorkersAvailable Paused',
      observed: healthy({ spec: { replicas: 3, paused: true }, deployment: healthyDeployment(0), pods: [] }),
      want: {
        Ready: 'True/Paused',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'True/Paused',
        Reconciling: 'False/RolloutComplete',
        Stalled: 'False/NotStalled',
      },
    },
    {
      name: 'paused, pods still stopping: Ready False/Pausing',
      observed: healthy({ spec: { replicas: 3, paused: true }, deployment: healthyDeployment(0, { replicas: 2, updatedReplicas: 0 }) }),
      want: {
        Ready: 'False/Pausing',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'True/Paused',
        Reconciling: 'True/RolloutInProgress',
        Stalled: 'False/NotStalled',
      },
    },
    {
      name: 'replicas 0 (not paused) is Ready',
      observed: healthy({ spec: { replicas: 0 }, deployment: healthyDeployment(0), pods: [] }),
      want: {
        Ready: 'True/Available',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'True/MinimumReplicasAvailable',
        Reconciling: 'False/RolloutComplete',
        Stalled: 'False/NotStalled',
      },
    },
    {
      name: 'fatal termination: Ready False with the sink\'s reason, Stalled',
      observed: healthy({
        pods: [
          { name: 'orders-sink-7d9f-a', restartCount: 0 },
          { name: 'orders-sink-7d9f-b', restartCount: 4, lastTermination: { exitCode: 1, message: 'AuthFailed: Rockset rejected the API key (401)' }, waitingReason: 'CrashLoopBackOff' },
        ],
      }),
      want: {
        Ready: 'False/AuthFailed',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'True/MinimumReplicasAvailable',
        Reconciling: 'False/Stalled',
        Stalled: 'True/AuthFailed',
      },
      messages: { Ready: /orders-sink-7d9f-b.*AuthFailed: Rockset rejected the API key \(401\).*restarted 4 times/ },
    },
    {
      name: 'a worker finds no file for a referenced key (SecretKeyNotFound): SecretsResolved False with its message, Stalled',
      observed: healthy({
        pods: [{
          name: 'orders-sink-7d9f-a', restartCount: 2, waitingReason: 'CrashLoopBackOff',
          lastTermination: { exitCode: 2, message: 'SecretKeyNotFound: spec.rockset.apiKeySecretRef (Secret rockset, key api-key): the Secret has no such key' },
        }],
      }),
      want: {
        Ready: 'False/SecretKeyNotFound',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'False/SecretKeyNotFound',
        WorkersAvailable: 'True/MinimumReplicasAvailable',
        Reconciling: 'False/Stalled',
        Stalled: 'True/SecretKeyNotFound',
      },
      messages: { SecretsResolved: /^Worker pod orders-sink-7d9f-a failed: SecretKeyNotFound: spec\.rockset\.apiKeySecretRef \(Secret rockset, key api-key\): the Secret has no such key/ },
    },
    {
      name: 'CrashLoopBackOff without a reasoned message: WorkerFailed',
      observed: healthy({ pods: [{ name: 'orders-sink-7d9f-c', restartCount: 7, lastTermination: { exitCode: 137 }, waitingReason: 'CrashLoopBackOff' }] }),
      want: {
        Ready: 'False/WorkerFailed',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'True/MinimumReplicasAvailable',
        Reconciling: 'False/Stalled',
        Stalled: 'True/WorkerFailed',
      },
      messages: { Ready: /orders-sink-7d9f-c.*restarted 7 times.*exit code 137.*CrashLoopBackOff/ },
    },
    {
      name: 'a clean exit (code 0) and an unreasoned termination are not failures',
      observed: healthy({
        pods: [
          { name: 'orders-sink-7d9f-a', restartCount: 1, lastTermination: { exitCode: 0, message: 'KafkaFailed: stale file' } },
          { name: 'orders-sink-7d9f-b', restartCount: 1, lastTermination: { exitCode: 143 } },
        ],
      }),
      want: {
        Ready: 'True/Available',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'True/MinimumReplicasAvailable',
        Reconciling: 'False/RolloutComplete',
        Stalled: 'False/NotStalled',
      },
    },
    {
      name: 'Deployment ProgressDeadlineExceeded: Stalled, Ready follows availability',
      observed: healthy({
        deployment: healthyDeployment(3, {
          availableReplicas: 2,
          updatedReplicas: 1,
          conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "orders-sink-8c" has timed out progressing.' }],
        }),
      }),
      want: {
        Ready: 'False/ProgressDeadlineExceeded',
        ConfigValid: 'True/SpecAccepted',
        SecretsResolved: 'True/SecretsFound',
        WorkersAvailable: 'False/ReplicasUnavailable',
        Reconciling: 'False/Stalled',
        Stalled: 'True/ProgressDeadlineExceeded',
      },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const s = computeStatus(undefined, c.observed, T0);
      assert.deepEqual(summary(s), c.want);
      for (const [type, re] of Object.entries(c.messages ?? {})) assert.match(cond(s, type).message, re, type);
      assert.ok(checkStatus(s), JSON.stringify(checkStatus.errors));
    });
  }
});

describe('computeStatus: fields', () => {
  test('observedGeneration, replicas, readyReplicas, selector, lag; every condition carries the generation and an RFC 3339 second', () => {
    const s = computeStatus(undefined, healthy({ deployment: healthyDeployment(3, { replicas: 4, readyReplicas: 2 }) }), T0);
    assert.equal(s.observedGeneration, 5);
    assert.equal(s.replicas, 4);
    assert.equal(s.readyReplicas, 2);
    assert.equal(s.selector, SELECTOR);
    assert.deepEqual(s.lag, { total: 12, topics: { orders: 10, refunds: 2 } });
    assert.deepEqual(
      s.conditions?.map((c) => c.type),
      ['Ready', 'ConfigValid', 'SecretsResolved', 'WorkersAvailable', 'Reconciling', 'Stalled'],
    );
    for (const c of s.conditions ?? []) {
      assert.equal(c.observedGeneration, 5);
      assert.equal(c.lastTransitionTime, '2026-11-25T10:00:00Z');
      assert.match(c.reason, /^[A-Z][A-Za-z0-9]*$/);
    }
  });

  test('no Deployment: replicas and readyReplicas 0', () => {
    const s = computeStatus(undefined, healthy({ deployment: undefined }), T0);
    assert.equal(s.replicas, 0);
    assert.equal(s.readyReplicas, 0);
  });

  test('lag error keeps the previous lag and notes it in Ready\'s message, without crashing', () => {
    const before = computeStatus(undefined, healthy(), T0);
    const s = computeStatus(before, healthy({ lag: { error: 'connect ECONNREFUSED 10.0.0.7:9092' } }), T1);
    assert.deepEqual(s.lag, { total: 12, topics: { orders: 10, refunds: 2 } });
    assert.equal(cond(s, 'Ready').status, 'True');
    assert.match(cond(s, 'Ready').message, /lag not updated: connect ECONNREFUSED 10\.0\.0\.7:9092/);
  });

  test('lag error with no previous lag: no lag field', () => {
    const s = computeStatus(undefined, healthy({ lag: { error: 'broker unreachable' } }), T0);
    assert.equal('lag' in s, false);
  });

  test('lag not read this time (undefined) keeps the previous lag', () => {
    const before = computeStatus(undefined, healthy(), T0);
    const s = computeStatus(before, healthy({ lag: undefined }), T1);
    assert.deepEqual(s.lag, before.lag);
  });

  test('lag not read this time keeps what Ready said about the last read (no flapping write after an operator restart)', () => {
    const failed = computeStatus(undefined, healthy({ lag: { error: 'broker unreachable' } }), T0);
    const unknown = computeStatus(failed, healthy({ lag: undefined }), T1);
    assert.equal(cond(unknown, 'Ready').message, cond(failed, 'Ready').message);
    assert.equal(statusChanged(failed, unknown), false);
    // A read that succeeds clears the note.
    const read = computeStatus(unknown, healthy({ lag: { total: 0, topics: { orders: 0 } } }), T1);
    assert.doesNotMatch(cond(read, 'Ready').message, /lag not updated/);
    // So does a change of what Ready says.
    const degraded = computeStatus(failed, healthy({ lag: undefined, deployment: { ...healthyDeployment(3), availableReplicas: 1 } }), T1);
    assert.doesNotMatch(cond(degraded, 'Ready').message, /lag not updated/);
  });

  test('a new lag value replaces the previous one', () => {
    const before = computeStatus(undefined, healthy(), T0);
    const s = computeStatus(before, healthy({ lag: { total: 0, topics: { orders: 0 } } }), T1);
    assert.deepEqual(s.lag, { total: 0, topics: { orders: 0 } });
  });

  test('secret messages name the references only: nothing but the names given', () => {
    const names = ['rockset/api-key', 'kafka-ca/ca.crt'];
    const s = computeStatus(undefined, healthy({ missingSecrets: names }), T0);
    for (const type of ['SecretsResolved', 'Ready', 'Stalled']) {
      const m = cond(s, type).message;
      const listed = m.replace(/^Secret references not found: /, '').split(', ');
      assert.deepEqual(listed.sort(), [...names].sort(), type);
    }
  });

  test('duplicate missing secrets are listed once, sorted', () => {
    const s = computeStatus(undefined, healthy({ missingSecrets: ['b/k', 'a/k', 'b/k'] }), T0);
    assert.equal(cond(s, 'SecretsResolved').message, 'Secret references not found: a/k, b/k');
  });

  test('several failing pods: the named reason wins over a bare crash loop, independent of listing order', () => {
    const pods = [
      { name: 'orders-sink-a', restartCount: 9, waitingReason: 'CrashLoopBackOff' },
      { name: 'orders-sink-c', restartCount: 2, lastTermination: { exitCode: 1, message: 'CollectionNotFound: orders does not exist in workspace commons' } },
      { name: 'orders-sink-b', restartCount: 3, lastTermination: { exitCode: 1, message: 'CollectionNotFound: orders does not exist in workspace commons' } },
    ];
    const s1 = computeStatus(undefined, healthy({ pods }), T0);
    const s2 = computeStatus(undefined, healthy({ pods: [...pods].reverse() }), T0);
    assert.equal(cond(s1, 'Ready').reason, 'CollectionNotFound');
    assert.match(cond(s1, 'Ready').message, /^Worker pod orders-sink-b failed: CollectionNotFound: .* \(restarted 3 times, last exit code 1\); 2 more pods failing$/);
    assert.equal(statusChanged(s1, s2), false);
  });
});

describe('computeStatus: lastTransitionTime moves only when the status flips', () => {
  test('same inputs later: every time kept', () => {
    const a = computeStatus(undefined, healthy(), T0);
    const b = computeStatus(a, healthy(), T1);
    for (const c of b.conditions ?? []) assert.equal(c.lastTransitionTime, '2026-11-25T10:00:00Z', c.type);
  });

  test('reason/message change without a status flip keeps the time', () => {
    const a = computeStatus(undefined, healthy({ missingSecrets: ['rockset/api-key'] }), T0);
    const b = computeStatus(a, healthy({ configProblem: { field: 'kafka.topics', message: 'x' }, missingSecrets: ['rockset/api-key'] }), T1);
    assert.equal(cond(b, 'Ready').reason, 'InvalidSpec');
    assert.equal(cond(b, 'Ready').lastTransitionTime, '2026-11-25T10:00:00Z');
    assert.equal(cond(b, 'Stalled').lastTransitionTime, '2026-11-25T10:00:00Z');
  });

  const flips: { name: string; before: Observed; after: Observed; moved: string[] }[] = [
    { name: 'healthy -> auth failure', before: healthy(), after: healthy({ pods: [{ name: 'p', restartCount: 1, lastTermination: { exitCode: 1, message: 'AuthFailed: 401' } }] }), moved: ['Ready', 'Stalled'] },
    { name: 'missing secret -> resolved', before: healthy({ missingSecrets: ['rockset/api-key'] }), after: healthy(), moved: ['Ready', 'SecretsResolved', 'Stalled'] },
    { name: 'available -> unavailable', before: healthy(), after: healthy({ deployment: healthyDeployment(3, { availableReplicas: 2 }) }), moved: ['Ready', 'WorkersAvailable'] },
    { name: 'new generation not observed', before: healthy(), after: healthy({ deployment: healthyDeployment(3, { generation: 3 }) }), moved: ['Ready', 'Reconciling'] },
  ];
  for (const f of flips) {
    test(`flip: ${f.name}`, () => {
      const a = computeStatus(undefined, f.before, T0);
      const b = computeStatus(a, f.after, T1);
      const moved = (b.conditions ?? []).filter((c) => c.lastTransitionTime !== cond(a, c.type).lastTransitionTime).map((c) => c.type);
      assert.deepEqual(moved.sort(), [...f.moved].sort());
      for (const t of f.moved) assert.equal(cond(b, t).lastTransitionTime, '2026-11-25T10:05:00Z', t);
    });
  }

  test('a previous status missing a condition type: that condition gets now', () => {
    const a = computeStatus(undefined, healthy(), T0);
    const trimmed = { ...a, conditions: a.conditions?.filter((c) => c.type !== 'Stalled') };
    const b = computeStatus(trimmed, healthy(), T1);
    assert.equal(cond(b, 'Stalled').lastTransitionTime, '2026-11-25T10:05:00Z');
    assert.equal(cond(b, 'Ready').lastTransitionTime, '2026-11-25T10:00:00Z');
  });
});

describe('statusChanged', () => {
  test('undefined previous: changed', () => {
    assert.equal(statusChanged(undefined, computeStatus(undefined, healthy(), T0)), true);
  });

  test('three identical reconciles at later times: no write after the first', () => {
    const s1 = computeStatus(undefined, healthy(), T0);
    const s2 = computeStatus(s1, healthy(), T1);
    const s3 = computeStatus(s2, healthy(), T2);
    assert.equal(statusChanged(s1, s2), false);
    assert.equal(statusChanged(s2, s3), false);
    assert.deepEqual(s3, s1);
  });

  test('a lag error with a kept lag still changes Ready\'s message once, then settles', () => {
    const s1 = computeStatus(undefined, healthy(), T0);
    const s2 = computeStatus(s1, healthy({ lag: { error: 'broker down' } }), T1);
    const s3 = computeStatus(s2, healthy({ lag: { error: 'broker down' } }), T2);
    assert.equal(statusChanged(s1, s2), true);
    assert.equal(statusChanged(s2, s3), false);
  });

  const base = computeStatus(undefined, healthy(), T0);
  const cases: { name: string; b: RocksetSinkStatus; changed: boolean }[] = [
    { name: 'conditions in another order', b: { ...base, conditions: [...(base.conditions ?? [])].reverse() }, changed: false },
    { name: 'object keys in another order', b: Object.fromEntries(Object.entries(base).reverse()) as RocksetSinkStatus, changed: false },
    { name: 'an undefined field vs an absent one', b: { ...base, lag: base.lag, replicas: base.replicas, selector: base.selector, observedGeneration: base.observedGeneration, readyReplicas: base.readyReplicas, conditions: base.conditions }, changed: false },
    {
      name: 'the same instant spelled with milliseconds',
      b: { ...base, conditions: base.conditions?.map((c) => ({ ...c, lastTransitionTime: '2026-11-25T10:00:00.000Z' })) },
      changed: false,
    },
    { name: 'a transition time that really moved', b: { ...base, conditions: base.conditions?.map((c) => (c.type === 'Ready' ? { ...c, lastTransitionTime: '2026-11-25T10:00:01Z' } : c)) }, changed: true },
    { name: 'a message', b: { ...base, conditions: base.conditions?.map((c) => (c.type === 'Ready' ? { ...c, message: 'other' } : c)) }, changed: true },
    { name: 'a condition dropped', b: { ...base, conditions: base.conditions?.slice(1) }, changed: true },
    { name: 'lag total', b: { ...base, lag: { total: 13, topics: { orders: 11, refunds: 2 } } }, changed: true },
    { name: 'lag gone', b: { ...base, lag: undefined }, changed: true },
    { name: 'readyReplicas', b: { ...base, readyReplicas: 2 }, changed: true },
    { name: 'observedGeneration', b: { ...base, observedGeneration: 6 }, changed: true },
    { name: 'selector', b: { ...base, selector: 'x=y' }, changed: true },
  ];
  for (const c of cases) test(c.name, () => assert.equal(statusChanged(base, c.b), c.changed));
});
