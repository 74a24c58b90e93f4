// Two RocksetSinks consuming as one Kafka consumer group on the same brokers split or
// leave unread each other's records (Kafka assigns the group's partitions over all
// members; kafkajs's leader assigns only its own topics), while each looks healthy.
// The operator sees every sink it watches, so it can say so on both. Pure.
import type { RocksetSink } from './api/rocksetsink.ts';
import { effectiveGroupId } from './render/config.ts';

export interface GroupUse {
  /** namespace/name */
  key: string;
  groupId: string;
  brokers: string[];
}

export function groupUse(sink: RocksetSink): GroupUse | undefined {
  const brokers = sink.spec?.kafka?.brokers;
  if (!Array.isArray(brokers)) return undefined;
  return { key: `${sink.metadata.namespace}/${sink.metadata.name}`, groupId: effectiveGroupId(sink), brokers: brokers.map((b) => String(b).toLowerCase()) };
}

/**
 * The other sinks (namespace/name, sorted) with the same group id and a broker in
 * common: the same cluster, as far as the operator can tell from the addresses.
 */
export function groupConflicts(sink: GroupUse, all: readonly GroupUse[]): string[] {
  const mine = new Set(sink.brokers);
  return all
    .filter((o) => o.key !== sink.key && o.groupId === sink.groupId && o.brokers.some((b) => mine.has(b)))
    .map((o) => o.key)
    .sort();
}

export function groupConflictMessage(groupId: string, others: readonly string[]): string {
  const names = others.map((o) => `RocksetSink ${o}`).join(', ');
  return `consumer group ${JSON.stringify(groupId)} on the same brokers is also used by ${names}: the sinks split or leave unread each other's records. Give each sink its own kafka.groupId, or remove kafka.groupId to use the sink's own default (rockset-sink.<namespace>.<name>)`;
}
