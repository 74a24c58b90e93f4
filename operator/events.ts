// Kubernetes Events on the RocksetSink for the transitions a user cares about:
// what to emit is pure (statusEvents: previous status -> new status), how to write
// it is the recorder: core/v1 Events (what `kubectl describe` and `kubectl events`
// show), with a repeat of the same reason and message on the same object folded
// into the existing Event's count, as client-go's recorder does. Events only come
// from transitions, so an idle operator writes none.
import type { KubeConfig } from '@kubernetes/client-node';
import { ConditionType, type Condition, type RocksetSink, type RocksetSinkStatus } from './api/rocksetsink.ts';
import { apiRequest, type RequestGuard } from './api-request.ts';
import { Reason } from './status.ts';

export interface SinkEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

const find = (s: RocksetSinkStatus | undefined, type: string): Condition | undefined => s?.conditions?.find((c) => c.type === type);

/** Events for the condition changes between two statuses. */
export function statusEvents(previous: RocksetSinkStatus | undefined, next: RocksetSinkStatus): SinkEvent[] {
  const out: SinkEvent[] = [];
  const stalledBefore = find(previous, ConditionType.Stalled);
  const stalled = find(next, ConditionType.Stalled);
  if (stalled?.status === 'True' && (stalledBefore?.status !== 'True' || stalledBefore.reason !== stalled.reason || stalledBefore.message !== stalled.message)) {
    out.push({ type: 'Warning', reason: stalled.reason, message: stalled.message });
  }
  if (stalled?.status === 'False' && stalledBefore?.status === 'True') {
    out.push({ type: 'Normal', reason: 'Recovered', message: `No longer stalled (was ${stalledBefore.reason})` });
  }
  const readyBefore = find(previous, ConditionType.Ready);
  const ready = find(next, ConditionType.Ready);
  if (ready?.status === 'True' && (readyBefore?.status !== 'True' || readyBefore.reason !== ready.reason)) {
    out.push({ type: 'Normal', reason: ready.reason === Reason.Paused ? 'Paused' : 'Ready', message: ready.message });
  }
  return out;
}

export interface EventRecorderOptions {
  component: string;
  instance: string;
  log?: { warn(obj: object, msg: string): void };
  /** A repeat within this window bumps the count instead of creating an Event (default 10 min). */
  foldWindowMs?: number;
  /** Timeouts and the leader fence (operator/leader.ts). */
  guard?: RequestGuard;
}

interface Folded {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  at: number;
}

const seconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class EventRecorder {
  readonly #kc: KubeConfig;
  readonly #o: EventRecorderOptions;
  readonly #folded = new Map<string, Folded>();
  #writes = 0;

  constructor(kc: KubeConfig, opts: EventRecorderOptions) {
    this.#kc = kc;
    this.#o = opts;
  }

  /** Event API writes made so far. */
  get writes(): number {
    return this.#writes;
  }

  /** Never throws: an Event that cannot be written is logged and dropped. */
  async record(sink: RocksetSink, event: SinkEvent): Promise<void> {
    const { namespace, name, uid } = sink.metadata;
    const foldKey = `${uid}\u0000${event.type}\u0000${event.reason}\u0000${event.message}`;
    const now = new Date();
    const window = this.#o.foldWindowMs ?? 600_000;
    const prior = this.#folded.get(foldKey);
    try {
      if (prior && Date.now() - prior.at < window) {
        prior.count++;
        prior.at = Date.now();
        this.#writes++;
        await apiRequest(this.#kc, 'PATCH', `/api/v1/namespaces/${prior.namespace}/events/${prior.name}`, {
          body: { count: prior.count, lastTimestamp: seconds(now) },
          contentType: 'application/merge-patch+json',
          ...(this.#o.guard ? { guard: this.#o.guard } : {}),
        });
        return;
      }
      this.#writes++;
      const created = await apiRequest<{ metadata: { name: string } }>(this.#kc, 'POST', `/api/v1/namespaces/${namespace}/events`, {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: { apiVersion: sink.apiVersion, kind: sink.kind, name, namespace, uid, resourceVersion: sink.metadata.resourceVersion },
          type: event.type,
          reason: event.reason,
          message: event.message.slice(0, 1024),
          source: { component: this.#o.component },
          reportingComponent: this.#o.component,
          reportingInstance: this.#o.instance,
          firstTimestamp: seconds(now),
          lastTimestamp: seconds(now),
          count: 1,
        },
        ...(this.#o.guard ? { guard: this.#o.guard } : {}),
      });
      if (this.#folded.size > 2000) this.#folded.clear();
      this.#folded.set(foldKey, { name: created.metadata.name, namespace, count: 1, firstTimestamp: seconds(now), at: Date.now() });
    } catch (err) {
      this.#folded.delete(foldKey);
      this.#o.log?.warn({ sink: `${namespace}/${name}`, reason: event.reason, err: (err as Error).message }, 'could not record event');
    }
  }
}
