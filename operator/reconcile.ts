// One reconcile pass for one RocksetSink: read the sink, validate, resolve its
// Secrets (metadata only: existence and version), render, server-side apply the ConfigMap and
// Deployment it owns (only when they differ from what is stored), observe the
// Deployment and pods, and write the status only when statusChanged says so. An
// unchanged, healthy sink makes no API writes.
import { createHash } from 'node:crypto';
import { GROUP, RESTARTED_AT_ANNOTATION, type RocksetSink, type RocksetSinkStatus } from './api/rocksetsink.ts';
import { validateSpec } from './api/validate.ts';
import { apiHostAllowed, hostNotAllowedMessage } from './api-hosts.ts';
import type { ExistingObject, Kube, PodInfo } from './kube.ts';
import { canonicalJson, secretsChecksum } from './render/checksum.ts';
import { effectiveGroupId, secretMounts } from './render/config.ts';
import { CONFIG_CHECKSUM_ANNOTATION, SECRETS_CHECKSUM_ANNOTATION, selectorString } from './render/meta.ts';
import { renderSink } from './render/objects.ts';
import { statusEvents, type SinkEvent } from './events.ts';
import { computeStatus, statusChanged, type Observed, type ObservedDeployment, type ObservedLag, type ObservedPod } from './status.ts';
import { ConfigError, validateConfig } from '../sink/config/validate.ts';

/**
 * The workers' image when neither OPERATOR_SINK_IMAGE nor spec.image says otherwise: the
 * one image the Dockerfile builds (operator and sink), as the chart names it
 * (image.repository:appVersion). Nothing publishes it: set OPERATOR_SINK_IMAGE to your
 * registry's copy (the chart does).
 */
export const DEFAULT_SINK_IMAGE = 'rockset-sink-operator:0.1.0';
/** sha256 of the object as last applied: a render change (also a removed field) re-applies. */
export const APPLIED_HASH_ANNOTATION = `${GROUP}/applied-hash`;

export interface ReconcileKey {
  namespace: string;
  name: string;
}

export interface ReconcileDeps {
  kube: Kube;
  now(): Date;
  /** The sink's latest lag (undefined: not known yet). */
  readLag?(sink: RocksetSink): Promise<ObservedLag | undefined>;
  /** Default sink image; spec.image overrides it. */
  image?: string;
  /** Rockset API hosts a sink may send its API key to (api-hosts.ts); empty or absent: any. */
  allowedApiHosts?: readonly string[];
  /** Other sinks (namespace/name) consuming as this sink's group on the same brokers. */
  groupConflicts?(sink: RocksetSink): string[];
}

export interface ReconcileResult {
  outcome: 'done' | 'requeue';
  writes: number;
  /** What a user should see as Events on the sink (the caller records them). */
  events: SinkEvent[];
  /** The sink as read (for recording events), when it exists. */
  sink?: RocksetSink;
}

/**
 * The first path where `existing` lacks a value of `desired`, or undefined when it holds
 * them all (zero values may be absent; extra fields, e.g. API server defaults, are fine; arrays match by length and position).
 */
export function mismatch(existing: unknown, desired: unknown, at = ''): string | undefined {
  // The API server omits zero values (Go omitempty): readOnly: false reads back absent.
  if (existing === undefined && (desired === false || desired === 0 || desired === '')) return undefined;
  if (Array.isArray(desired)) {
    if (!Array.isArray(existing) || existing.length !== desired.length) return at || '.';
    for (let i = 0; i < desired.length; i++) {
      const m = mismatch(existing[i], desired[i], `${at}[${i}]`);
      if (m !== undefined) return m;
    }
    return undefined;
  }
  if (desired !== null && typeof desired === 'object') {
    if (existing === null || typeof existing !== 'object' || Array.isArray(existing)) return at || '.';
    for (const [k, v] of Object.entries(desired)) {
      if (v === undefined) continue;
      const m = mismatch((existing as Record<string, unknown>)[k], v, `${at}.${k}`);
      if (m !== undefined) return m;
    }
    return undefined;
  }
  return existing === desired ? undefined : at || '.';
}

export const covers = (existing: unknown, desired: unknown): boolean => mismatch(existing, desired) === undefined;

const ownedBy = (obj: ExistingObject, uid: string): boolean => (obj.metadata.ownerReferences ?? []).some((r) => r.uid === uid);

function withAppliedHash<T extends { metadata: object }>(obj: T): T & { metadata: { annotations: Record<string, string> } } {
  const hash = createHash('sha256').update(canonicalJson(obj, 0)).digest('hex');
  return { ...obj, metadata: { ...obj.metadata, annotations: { [APPLIED_HASH_ANNOTATION]: hash } } };
}

function upToDate(existing: ExistingObject | undefined, desired: { metadata: { annotations: Record<string, string> } }): boolean {
  if (!existing) return false;
  return existing.metadata.annotations?.[APPLIED_HASH_ANNOTATION] === desired.metadata.annotations[APPLIED_HASH_ANNOTATION] && covers(existing, desired);
}

function observeDeployment(d: ExistingObject): ObservedDeployment {
  const status = (d['status'] ?? {}) as Omit<ObservedDeployment, 'generation'>;
  const out: ObservedDeployment = { generation: d.metadata.generation ?? 0 };
  if (status.observedGeneration !== undefined) out.observedGeneration = status.observedGeneration;
  if (status.replicas !== undefined) out.replicas = status.replicas;
  if (status.readyReplicas !== undefined) out.readyReplicas = status.readyReplicas;
  if (status.availableReplicas !== undefined) out.availableReplicas = status.availableReplicas;
  if (status.updatedReplicas !== undefined) out.updatedReplicas = status.updatedReplicas;
  if (status.conditions) out.conditions = status.conditions;
  return out;
}

function observePod(p: PodInfo): ObservedPod {
  const c = p.status?.containerStatuses?.find((s) => s.name === 'sink');
  const pod: ObservedPod = { name: p.metadata.name, restartCount: c?.restartCount ?? 0 };
  const term = c?.lastState?.terminated;
  if (term) pod.lastTermination = term.message === undefined ? { exitCode: term.exitCode } : { exitCode: term.exitCode, message: term.message };
  const waiting = c?.state?.waiting?.reason;
  if (waiting) pod.waitingReason = waiting;
  const scheduled = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
  if (scheduled?.status === 'False') pod.unschedulable = { reason: scheduled.reason ?? 'Unschedulable', message: scheduled.message ?? '' };
  return pod;
}

function failingOrStarting(p: PodInfo): boolean {
  const c = p.status?.containerStatuses?.find((s) => s.name === 'sink');
  return !c || c.ready !== true || c.state?.waiting !== undefined;
}

const templateAnnotations = (d: { spec?: unknown } | undefined): Record<string, string> =>
  ((d?.spec as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined)?.template?.metadata?.annotations) ?? {};

/** Created, or what changed: a pod template change rolls the workers, and says why. */
function deploymentEvent(existing: ExistingObject | undefined, desired: { metadata: { name: string }; spec: unknown }): SinkEvent {
  const name = desired.metadata.name;
  if (!existing) return { type: 'Normal', reason: 'DeploymentCreated', message: `Created Deployment ${name}` };
  const before = templateAnnotations(existing as { spec?: unknown });
  const after = templateAnnotations(desired);
  const causes: string[] = [];
  if (before[CONFIG_CHECKSUM_ANNOTATION] !== after[CONFIG_CHECKSUM_ANNOTATION]) causes.push('the configuration changed');
  if (before[SECRETS_CHECKSUM_ANNOTATION] !== after[SECRETS_CHECKSUM_ANNOTATION]) causes.push('a referenced Secret changed');
  if (before[RESTARTED_AT_ANNOTATION] !== after[RESTARTED_AT_ANNOTATION]) causes.push(`a restart was requested (${RESTARTED_AT_ANNOTATION})`);
  if (causes.length) return { type: 'Normal', reason: 'RollingRestart', message: `Rolling the workers of Deployment ${name}: ${causes.join(', ')}` };
  return { type: 'Normal', reason: 'DeploymentUpdated', message: `Updated Deployment ${name}` };
}

function errorText(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      // not JSON
    }
  } else if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return err instanceof Error ? err.message : String(err);
}

function splitProblem(problem: string): { field: string; message: string } {
  const i = problem.indexOf(': ');
  return i < 0 ? { field: 'spec', message: problem } : { field: problem.slice(0, i), message: problem.slice(i + 2) };
}

/** One pass over the sink named by `key`. */
export async function reconcile(key: ReconcileKey, deps: ReconcileDeps): Promise<ReconcileResult> {
  const { kube } = deps;
  const writesBefore = kube.writes;
  const events: SinkEvent[] = [];
  let read: RocksetSink | undefined;
  const result = (outcome: ReconcileResult['outcome']): ReconcileResult => {
    const r: ReconcileResult = { outcome, writes: kube.writes - writesBefore, events };
    if (read) r.sink = read;
    return r;
  };

  const sink = await kube.getSink(key.namespace, key.name);
  if (!sink || (sink.metadata as { deletionTimestamp?: string }).deletionTimestamp !== undefined) return result('done');
  read = sink;
  const { namespace } = sink.metadata;
  const generation = sink.metadata.generation ?? 0;
  const observed: Observed = {
    generation,
    spec: { replicas: typeof sink.spec?.replicas === 'number' ? sink.spec.replicas : 1, paused: sink.spec?.paused === true },
    selector: selectorString(sink),
  };

  const writeStatus = async (): Promise<RocksetSinkStatus> => {
    const status = computeStatus(sink.status, observed, deps.now());
    if (statusChanged(sink.status, status)) {
      await kube.patchSinkStatus(namespace, sink.metadata.name, status);
      events.push(...statusEvents(sink.status, status));
    }
    return status;
  };

  // 1. The spec (the API server has defaulted and checked it; ajv and the sink's own check again).
  const checked = validateSpec(sink.spec);
  if (!checked.ok) {
    observed.configProblem = splitProblem(checked.problems[0] ?? 'spec: is invalid');
    await writeStatus();
    return result('done');
  }
  const valid: RocksetSink = { ...sink, spec: checked.spec };
  // Nothing is deployed (no API key sent) for a host the operator does not allow.
  const allowed = deps.allowedApiHosts ?? [];
  if (!apiHostAllowed(valid.spec.rockset.apiServer, allowed)) {
    observed.configProblem = { field: 'rockset.apiServer', message: hostNotAllowedMessage(valid.spec.rockset.apiServer, allowed) };
    await writeStatus();
    return result('done');
  }

  // Reported (Stalled, a Warning), not enforced: stopping both sinks would stop data
  // that may be flowing fine today; the workers also report it (not ready).
  const others = deps.groupConflicts?.(valid) ?? [];
  if (others.length) observed.groupConflict = { groupId: effectiveGroupId(valid), others };

  // 2. Secrets: every referenced Secret must exist. Metadata only: the operator never
  // receives a Secret's keys or values here. A missing key is found where the workers
  // mount it (render/objects.ts): the worker stops with SecretKeyNotFound naming it.
  const versions: Record<string, string> = {};
  const missing: string[] = [];
  const seen = new Map<string, Awaited<ReturnType<Kube['getSecretMeta']>>>();
  for (const m of secretMounts(valid.spec)) {
    if (!seen.has(m.ref.name)) seen.set(m.ref.name, await kube.getSecretMeta(namespace, m.ref.name));
    const secret = seen.get(m.ref.name);
    if (!secret) missing.push(`Secret ${m.ref.name} (${m.field})`);
    else versions[m.ref.name] = secret.resourceVersion;
  }

  // 3. Render, and the sink's own check of the rendered configuration.
  const rendered = renderSink(valid, { image: deps.image ?? DEFAULT_SINK_IMAGE, secretsHash: secretsChecksum(versions) });
  try {
    validateConfig(rendered.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    observed.configProblem = splitProblem(err.problems[0] ?? 'spec: is invalid');
    await writeStatus();
    return result('done');
  }

  const cmName = rendered.configMap.metadata.name;
  const depName = rendered.deployment.metadata.name;
  const [existingCm, existingDep] = await Promise.all([kube.getConfigMap(namespace, cmName), kube.getDeployment(namespace, depName)]);

  if (missing.length) {
    // The Deployment is left as it is (it keeps running with the Secrets it had).
    observed.missingSecrets = missing;
    if (existingDep && ownedBy(existingDep, sink.metadata.uid)) observed.deployment = observeDeployment(existingDep);
    await writeStatus();
    return result('requeue');
  }

  // 4. Refuse objects of the rendered names that this sink does not own: never touch them.
  const foreign = [existingCm && !ownedBy(existingCm, sink.metadata.uid) ? `ConfigMap ${namespace}/${cmName}` : undefined, existingDep && !ownedBy(existingDep, sink.metadata.uid) ? `Deployment ${namespace}/${depName}` : undefined].filter(
    (x): x is string => x !== undefined,
  );
  if (foreign.length) {
    observed.applyError = `${foreign.join(' and ')} already exist${foreign.length === 1 ? 's' : ''} and ${foreign.length === 1 ? 'is' : 'are'} not owned by RocksetSink ${sink.metadata.name}: delete or rename ${foreign.length === 1 ? 'it' : 'them'}, or rename the RocksetSink`;
    await writeStatus();
    return result('requeue');
  }

  // 5. Apply what differs from what is stored.
  let deployment = existingDep;
  try {
    const cm = withAppliedHash(rendered.configMap);
    if (!upToDate(existingCm, cm)) {
      await kube.applyOwned(cm);
      events.push({ type: 'Normal', reason: existingCm ? 'ConfigUpdated' : 'ConfigCreated', message: `${existingCm ? 'Updated' : 'Created'} ConfigMap ${cmName} with the sink configuration` });
    }
    const dep = withAppliedHash(rendered.deployment);
    if (!upToDate(existingDep, dep)) {
      deployment = await kube.applyOwned(dep);
      events.push(deploymentEvent(existingDep, rendered.deployment));
    }
  } catch (err) {
    observed.applyError = `Applying the workers' objects failed: ${errorText(err)}`;
    if (deployment) observed.deployment = observeDeployment(deployment);
    await writeStatus();
    return result('requeue');
  }

  // 6. Observe and report.
  if (deployment) observed.deployment = observeDeployment(deployment);
  // A pod that restarted and is ready again keeps its last termination: only pods
  // that are not ready (or are waiting, e.g. CrashLoopBackOff) speak for a failure.
  const pods = await kube.listPods(namespace, selectorString(sink));
  observed.pods = pods.filter((p) => p.metadata.deletionTimestamp === undefined && failingOrStarting(p)).map(observePod);
  const terminating = pods.filter((p) => p.metadata.deletionTimestamp !== undefined).length;
  if (terminating) observed.terminating = terminating;
  if (deps.readLag) {
    try {
      const lag = await deps.readLag(valid);
      if (lag) observed.lag = lag;
    } catch (err) {
      observed.lag = { error: err instanceof Error ? err.message : String(err) };
    }
  }
  const status = await writeStatus();
  const ready = status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  return result(ready ? 'done' : 'requeue');
}
