// The RocksetSink status, computed from what the reconciler observed: a pure function
// of (previous status, observations, clock). No API calls here; the reconciler reads
// the Deployment, the pods and the lag, calls computeStatus, and writes the result
// only when statusChanged says a user would see a difference.
//
// Decisions (see also the README of the operator):
// - Every condition type is always present, in a fixed order (Ready, ConfigValid,
//   SecretsResolved, WorkersAvailable, Reconciling, Stalled). The kstatus "abnormal-true"
//   conditions Reconciling and Stalled are written as False when they do not hold, so
//   `kubectl wait --for=condition=Stalled=false` works and the list never shrinks
//   (kstatus reads a False condition like an absent one).
// - Stalled wins over Reconciling: while Stalled is True, Reconciling is False (reason
//   Stalled), so kstatus reports Failed rather than InProgress forever.
// - lastTransitionTime moves only when a condition's status flips (meta.SetStatusCondition);
//   a new reason or message keeps the time.
// - A worker pod is failing when its last termination (non-zero exit) carries a
//   `<Reason>: <text>` termination message, or when it waits in CrashLoopBackOff. Among
//   several failing pods the one with a named reason, then the first by name, is reported,
//   so the status does not depend on the order pods were listed in.
// - Secret names are reported, never values; the input carries only names. A key
//   missing from an existing Secret is known from a worker's SecretKeyNotFound
//   termination: SecretsResolved=False with the worker's message.
// - Missing workers are explained by the cause a user can act on: the Deployment's
//   ReplicaFailure (it cannot create pods: a missing ServiceAccount, a quota; Stalled,
//   since it does not heal by itself), else a pending pod's scheduling reason. Counts
//   never read "4/3": pods beyond the wanted number are named as such.
import { ConditionType, type Condition, type RocksetSinkStatus } from './api/rocksetsink.ts';
import { groupConflictMessage } from './group-conflicts.ts';

export interface DeploymentCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface ObservedDeployment {
  /** metadata.generation */
  generation: number;
  /** status.observedGeneration */
  observedGeneration?: number;
  /** status.replicas (pods, old and new) */
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  updatedReplicas?: number;
  conditions?: DeploymentCondition[];
}

export interface ObservedPod {
  name: string;
  restartCount: number;
  lastTermination?: { exitCode: number; message?: string };
  /** The container's waiting reason, e.g. CrashLoopBackOff. */
  waitingReason?: string;
  /** The pod's PodScheduled=False reason and message (e.g. Unschedulable: 0/3 nodes are available...). */
  unschedulable?: { reason: string; message: string };
}

export type ObservedLag = { total: number; topics: Record<string, number> } | { error: string };

export interface Observed {
  generation: number;
  spec: { replicas: number; paused?: boolean };
  /** Invalid spec (ajv or the sink's validateConfig): ConfigValid=False, reason InvalidSpec. */
  configProblem?: { field: string; message: string };
  /** Secret references (names, never values) that do not resolve: SecretsResolved=False. */
  missingSecrets?: string[];
  deployment?: ObservedDeployment;
  pods?: ObservedPod[];
  /** Worker pods being deleted (a scale-down or a rollout); they are not counted as wanted. */
  terminating?: number;
  /** A lag read failure keeps the previous lag and is noted in Ready's message. */
  lag?: ObservedLag;
  /** Other sinks (namespace/name) consuming as the same group on the same brokers: Stalled. */
  groupConflict?: { groupId: string; others: string[] };
  /** The apply failed, e.g. a name conflict with an object the operator does not own: Stalled. */
  applyError?: string;
  selector: string;
}

/** Condition reasons this module writes (besides the sink's own FatalReason values). */
export const Reason = {
  Available: 'Available',
  Paused: 'Paused',
  Pausing: 'Pausing',
  InvalidSpec: 'InvalidSpec',
  SpecAccepted: 'SpecAccepted',
  SecretNotFound: 'SecretNotFound',
  /** A worker found no file for a referenced key (its termination message): the Secret lacks the key. */
  SecretKeyNotFound: 'SecretKeyNotFound',
  SecretsFound: 'SecretsFound',
  ApplyFailed: 'ApplyFailed',
  DeploymentNotFound: 'DeploymentNotFound',
  RolloutInProgress: 'RolloutInProgress',
  RolloutComplete: 'RolloutComplete',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  ReplicasUnavailable: 'ReplicasUnavailable',
  Stalled: 'Stalled',
  NotStalled: 'NotStalled',
  WorkerFailed: 'WorkerFailed',
  /** The Deployment cannot create pods (its ReplicaFailure condition, e.g. a missing ServiceAccount or a quota). */
  FailedCreate: 'FailedCreate',
  Unschedulable: 'Unschedulable',
  /** Another RocksetSink consumes as the same Kafka consumer group on the same brokers. */
  GroupConflict: 'GroupConflict',
} as const;

const CONDITION_ORDER: readonly string[] = [
  ConditionType.Ready,
  ConditionType.ConfigValid,
  ConditionType.SecretsResolved,
  ConditionType.WorkersAvailable,
  ConditionType.Reconciling,
  ConditionType.Stalled,
];

const REASON_PREFIX = /^([A-Z][A-Za-z0-9]*):[ \t]*/;
const MAX_MESSAGE = 4096;
const MAX_LAG_ERROR = 512;
const LAG_NOTE = '; lag not updated: ';

/** `<Reason>: <text>` with an explicit CamelCase reason, or undefined. */
function parseNamedReason(message: string | undefined): { reason: string; message: string } | undefined {
  const text = message?.trim();
  if (!text) return undefined;
  const m = REASON_PREFIX.exec(text);
  if (!m || !m[1]) return undefined;
  return { reason: m[1], message: text.slice(m[0].length).trim() };
}

/**
 * A sink container's termination message, `<Reason>: <text>` (sink/main.ts, sink/errors.ts).
 * Empty or missing -> undefined; text without a CamelCase reason -> reason WorkerFailed.
 */
export function parseTerminationMessage(message: string | undefined): { reason: string; message: string } | undefined {
  const text = message?.trim();
  if (!text) return undefined;
  return parseNamedReason(text) ?? { reason: Reason.WorkerFailed, message: text };
}

/** RFC 3339, seconds precision, UTC (metav1.Time). */
export function formatTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`;
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

interface PodFailure {
  pod: ObservedPod;
  reason: string;
  named: boolean;
  text: string;
}

function podFailure(pod: ObservedPod): PodFailure | undefined {
  const term = pod.lastTermination;
  const named = term && term.exitCode !== 0 ? parseNamedReason(term.message) : undefined;
  const crashLooping = pod.waitingReason === 'CrashLoopBackOff';
  if (!named && !crashLooping) return undefined;
  const parsed = named ?? parseTerminationMessage(term?.message);
  return { pod, reason: parsed?.reason ?? Reason.WorkerFailed, named: named !== undefined, text: parsed?.message ?? '' };
}

function failingWorker(pods: ObservedPod[] | undefined): { reason: string; message: string } | undefined {
  const failures = (pods ?? []).map(podFailure).filter((f): f is PodFailure => f !== undefined);
  if (!failures.length) return undefined;
  failures.sort((a, b) => Number(b.named) - Number(a.named) || (a.pod.name < b.pod.name ? -1 : a.pod.name > b.pod.name ? 1 : 0));
  const f = failures[0]!;
  const { pod } = f;
  const exit = pod.lastTermination ? `, last exit code ${pod.lastTermination.exitCode}` : '';
  const waiting = pod.waitingReason ? `, ${pod.waitingReason}` : '';
  const what = f.text ? `${f.reason}: ${f.text}` : f.reason;
  const others = failures.length > 1 ? `; ${plural(failures.length - 1, 'more pod', 'more pods')} failing` : '';
  return {
    reason: f.reason,
    message: truncate(`Worker pod ${pod.name} failed: ${what} (restarted ${plural(pod.restartCount, 'time', 'times')}${exit}${waiting})${others}`, MAX_MESSAGE),
  };
}

type Verdict = { status: Condition['status']; reason: string; message: string };

function deploymentCondition(dep: ObservedDeployment | undefined, type: string): DeploymentCondition | undefined {
  return dep?.conditions?.find((c) => c.type === type);
}

/** The first pod (by name) the scheduler cannot place, and how many cannot be placed. */
function unschedulable(pods: ObservedPod[] | undefined): { pod: ObservedPod & { unschedulable: NonNullable<ObservedPod['unschedulable']> }; count: number } | undefined {
  const pending = (pods ?? []).filter((p): p is ObservedPod & { unschedulable: NonNullable<ObservedPod['unschedulable']> } => p.unschedulable !== undefined);
  if (!pending.length) return undefined;
  pending.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { pod: pending[0]!, count: pending.length };
}

/**
 * "2/3 workers available", never more available than wanted: while the Deployment scales
 * down or surges in a rollout it may count more; those are said apart.
 */
function countsText(available: number, desired: number, current: number, terminating: number): string {
  const extra = Math.max(0, Math.max(available, current) - desired);
  const notes = [extra ? `${extra} more until the scale-down or rollout finishes` : '', terminating ? `${terminating} terminating` : ''].filter(Boolean);
  return `${Math.min(available, desired)}/${desired} workers available${notes.length ? ` (${notes.join(', ')})` : ''}`;
}

/** Every condition's status, reason and message; times are set by computeStatus. */
function verdicts(o: Observed): Record<string, Verdict> {
  const paused = o.spec.paused === true;
  const desired = paused ? 0 : Math.max(0, o.spec.replicas);
  const dep = o.deployment;
  const available = dep?.availableReplicas ?? 0;
  const current = dep?.replicas ?? 0;
  const updated = dep?.updatedReplicas ?? 0;
  const missing = [...new Set(o.missingSecrets ?? [])].sort();

  const configValid: Verdict = o.configProblem
    ? { status: 'False', reason: Reason.InvalidSpec, message: truncate(`${o.configProblem.field}: ${o.configProblem.message}`, MAX_MESSAGE) }
    : { status: 'True', reason: Reason.SpecAccepted, message: 'The spec renders a configuration the sink accepts' };

  // The operator sees Secrets' metadata only: a missing key is what a worker reports.
  const worker = failingWorker(o.pods);
  const secretsResolved: Verdict = missing.length
    ? { status: 'False', reason: Reason.SecretNotFound, message: truncate(`Secret references not found: ${missing.join(', ')}`, MAX_MESSAGE) }
    : worker?.reason === Reason.SecretKeyNotFound
      ? { status: 'False', reason: Reason.SecretKeyNotFound, message: worker.message }
      : { status: 'True', reason: Reason.SecretsFound, message: 'Every referenced Secret exists' };

  const counts = countsText(available, desired, current, o.terminating ?? 0);
  const depAvailable = deploymentCondition(dep, 'Available');
  // Why pods are missing, most specific first: the Deployment cannot create them (a
  // missing ServiceAccount, a quota), or the scheduler cannot place them.
  const replicaFailure = deploymentCondition(dep, 'ReplicaFailure');
  const cannotCreate = replicaFailure?.status === 'True' && available < desired && !paused
    ? { reason: Reason.FailedCreate, message: `The Deployment cannot create worker pods: ${replicaFailure.message || replicaFailure.reason || 'no reason given'}` }
    : undefined;
  const pending = unschedulable(o.pods);
  const cannotSchedule = pending && available < desired && !paused
    ? {
        reason: Reason.Unschedulable,
        message: `worker pod ${pending.pod.name} cannot be scheduled: ${pending.pod.unschedulable.reason}: ${pending.pod.unschedulable.message}${pending.count > 1 ? `; ${plural(pending.count - 1, 'more pod', 'more pods')} pending` : ''}`,
      }
    : undefined;
  let workersAvailable: Verdict;
  if (paused) {
    workersAvailable = { status: 'True', reason: Reason.Paused, message: current > 0 ? `Paused; ${plural(current, 'worker pod', 'worker pods')} still stopping` : 'Paused; scaled to zero' };
  } else if (!dep) {
    workersAvailable = { status: 'False', reason: Reason.ReplicasUnavailable, message: 'The worker Deployment does not exist yet' };
  } else if (available >= desired) {
    workersAvailable = { status: 'True', reason: Reason.MinimumReplicasAvailable, message: counts };
  } else if (cannotCreate ?? cannotSchedule) {
    const why = (cannotCreate ?? cannotSchedule)!;
    workersAvailable = { status: 'False', reason: why.reason, message: truncate(`${counts}: ${why.message}`, MAX_MESSAGE) };
  } else {
    const detail = depAvailable?.status === 'False' && depAvailable.message ? `: ${depAvailable.message}` : '';
    workersAvailable = { status: 'False', reason: Reason.ReplicasUnavailable, message: truncate(`${counts}${detail}`, MAX_MESSAGE) };
  }

  const progressing = deploymentCondition(dep, 'Progressing');
  const deadline = progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded' ? progressing : undefined;
  const applyError = o.applyError ? truncate(o.applyError, MAX_MESSAGE) : undefined;

  // What blocks progress until a human acts, most fundamental first.
  const blocker: Verdict | undefined = o.configProblem
    ? { status: 'True', reason: Reason.InvalidSpec, message: configValid.message }
    : missing.length
      ? { status: 'True', reason: Reason.SecretNotFound, message: secretsResolved.message }
      : applyError
        ? { status: 'True', reason: Reason.ApplyFailed, message: applyError }
        : o.groupConflict
          ? { status: 'True', reason: Reason.GroupConflict, message: truncate(`kafka.groupId: ${groupConflictMessage(o.groupConflict.groupId, o.groupConflict.others)}`, MAX_MESSAGE) }
          : worker
          ? { status: 'True', ...worker }
          : cannotCreate
            ? { status: 'True', reason: cannotCreate.reason, message: workersAvailable.message }
            : deadline
            ? { status: 'True', reason: Reason.ProgressDeadlineExceeded, message: deadline.message || 'The Deployment rollout exceeded its progress deadline' }
            : undefined;
  const stalled: Verdict = blocker ?? { status: 'False', reason: Reason.NotStalled, message: 'Nothing blocks progress' };

  const notObserved = dep !== undefined && (dep.observedGeneration ?? 0) < dep.generation;
  let reconciling: Verdict;
  if (blocker) {
    reconciling = { status: 'False', reason: Reason.Stalled, message: `Progress is blocked (Stalled: ${blocker.reason})` };
  } else if (!dep) {
    reconciling = { status: 'True', reason: Reason.DeploymentNotFound, message: 'Creating the worker Deployment' };
  } else if (notObserved) {
    reconciling = { status: 'True', reason: Reason.RolloutInProgress, message: `The Deployment has not observed generation ${dep.generation} yet` };
  } else if (updated < desired || current > updated) {
    reconciling = { status: 'True', reason: Reason.RolloutInProgress, message: `${updated}/${desired} workers updated, ${current} running` };
  } else {
    reconciling = { status: 'False', reason: Reason.RolloutComplete, message: 'The Deployment matches the spec' };
  }

  let ready: Verdict;
  if (blocker && blocker.reason !== Reason.ProgressDeadlineExceeded) {
    ready = { status: 'False', reason: blocker.reason, message: blocker.message };
  } else if (!dep) {
    ready = { status: 'False', reason: Reason.DeploymentNotFound, message: 'The worker Deployment does not exist yet' };
  } else if (notObserved) {
    ready = { status: 'False', reason: Reason.RolloutInProgress, message: reconciling.message };
  } else if (paused) {
    ready = current > 0
      ? { status: 'False', reason: Reason.Pausing, message: `Pausing; ${plural(current, 'worker pod', 'worker pods')} still stopping` }
      : { status: 'True', reason: Reason.Paused, message: 'Paused: the workers are scaled to zero, configuration and committed offsets are kept' };
  } else if (available < desired) {
    ready = { status: 'False', reason: blocker?.reason ?? workersAvailable.reason, message: blocker?.message ?? workersAvailable.message };
  } else {
    ready = { status: 'True', reason: Reason.Available, message: counts };
  }
  if (o.lag && 'error' in o.lag) {
    ready = { ...ready, message: `${ready.message}${LAG_NOTE}${truncate(o.lag.error, MAX_LAG_ERROR)}` };
  }

  return {
    [ConditionType.Ready]: ready,
    [ConditionType.ConfigValid]: configValid,
    [ConditionType.SecretsResolved]: secretsResolved,
    [ConditionType.WorkersAvailable]: workersAvailable,
    [ConditionType.Reconciling]: reconciling,
    [ConditionType.Stalled]: stalled,
  };
}

function lagOf(o: Observed, previous: RocksetSinkStatus | undefined): RocksetSinkStatus['lag'] {
  const lag = o.lag;
  if (!lag || 'error' in lag) return previous?.lag;
  const clamp = (n: number) => (Number.isFinite(n) ? Math.max(0, Math.trunc(n)) : 0);
  const topics: Record<string, number> = {};
  for (const t of Object.keys(lag.topics).sort()) topics[t] = clamp(lag.topics[t] ?? 0);
  return { total: clamp(lag.total), topics };
}

/**
 * The status for `observed`. `previous` supplies the lastTransitionTime of conditions
 * whose status did not flip, and the lag when it could not be read.
 */
export function computeStatus(previous: RocksetSinkStatus | undefined, observed: Observed, now: Date): RocksetSinkStatus {
  const v = verdicts(observed);
  const stamp = formatTime(now);
  const conditions: Condition[] = CONDITION_ORDER.map((type) => {
    const { status, reason } = v[type]!;
    let { message } = v[type]!;
    const before = previous?.conditions?.find((c) => c.type === type);
    // Lag not read this pass (e.g. an operator that just started): what the status
    // said about reading it stands, rather than flapping the message (and writing).
    if (observed.lag === undefined && type === ConditionType.Ready && before?.status === status && before.reason === reason && before.message.startsWith(`${message}${LAG_NOTE}`)) {
      message = before.message;
    }
    const lastTransitionTime = before && before.status === status && before.lastTransitionTime ? before.lastTransitionTime : stamp;
    return { type, status, observedGeneration: observed.generation, lastTransitionTime, reason, message };
  });
  const status: RocksetSinkStatus = {
    observedGeneration: observed.generation,
    conditions,
    replicas: observed.deployment?.replicas ?? 0,
    readyReplicas: observed.deployment?.readyReplicas ?? 0,
    selector: observed.selector,
  };
  const lag = lagOf(observed, previous);
  if (lag) status.lag = lag;
  return status;
}

/** A comparable form: conditions by type, keys sorted, undefined dropped, times as instants. */
function canonical(value: unknown, key?: string): unknown {
  if (key === 'lastTransitionTime' && typeof value === 'string') {
    const t = Date.parse(value);
    return Number.isNaN(t) ? value : Math.floor(t / 1000);
  }
  if (Array.isArray(value)) {
    const items = value.map((x) => canonical(x));
    if (key === 'conditions') {
      const typeOf = (c: unknown) => String((c as { type?: unknown } | null)?.type ?? '');
      items.sort((a, b) => (typeOf(a) < typeOf(b) ? -1 : typeOf(a) > typeOf(b) ? 1 : 0));
    }
    return items;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const x = (value as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = canonical(x, k);
    }
    return out;
  }
  return value;
}

/**
 * Whether writing `b` over `a` changes anything a user sees: a deep comparison that
 * ignores only the order of conditions (and of object keys), absent-vs-undefined
 * fields, and how a lastTransitionTime is spelled (compared as an instant, seconds).
 */
export function statusChanged(a: RocksetSinkStatus | undefined, b: RocksetSinkStatus): boolean {
  if (a === undefined) return true;
  return JSON.stringify(canonical(a)) !== JSON.stringify(canonical(b));
}
