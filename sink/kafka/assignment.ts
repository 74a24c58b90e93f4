// A worker must not report ready while its consumer group leaves topics unread. That
// happens when another consumer (e.g. a second sink with the same kafka.groupId and
// other topics) shares the group: kafkajs's group leader assigns only the topics IT
// subscribes to, over all members, so a member subscribed to other topics gets
// partitions it never reads (kafkajs drops them: RECEIVED_UNSUBSCRIBED_TOPICS) and
// its own topics are assigned to nobody, while every member looks healthy. So:
// - as the leader, the assigner sees every member's subscription: one that differs
//   from ours means a topic of the group is not read;
// - as a member, an assignment holding topics we do not subscribe to means the same.
// The assigner keeps kafkajs's RoundRobinAssigner name, version and protocol, so the
// group protocol is unchanged (workers of an older version join the same group).
import { AssignerProtocol, PartitionAssigners, type Consumer, type PartitionAssigner } from 'kafkajs';

export interface AssignmentLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Members whose subscription differs from `ours` (pure). */
export function otherSubscriptions(members: { memberId: string; topics: readonly string[] }[], ours: readonly string[]): { memberId: string; topics: string[] }[] {
  const key = (ts: readonly string[]) => [...new Set(ts)].sort().join('\u0000');
  const mine = key(ours);
  return members.filter((m) => key(m.topics) !== mine).map((m) => ({ memberId: m.memberId, topics: [...new Set(m.topics)].sort() }));
}

const REASON = 'ForeignAssignment';

/** Watches each group join; `problem` is why the worker is not ready, if anything. */
export function assignmentGuard(groupId: string, log: AssignmentLog) {
  let problem: string | undefined;
  let asLeader: string | undefined;
  let asMember: string | undefined;
  const fix = 'another consumer (another sink?) shares the group with other topics, so some topics are not read. Give each sink its own kafka.groupId';

  const assigner: PartitionAssigner = (config) => {
    const inner = PartitionAssigners.roundRobin(config);
    return {
      name: inner.name,
      version: inner.version,
      protocol: (subscription) => inner.protocol(subscription),
      async assign(group) {
        const members = group.members.map((m) => ({ memberId: m.memberId, topics: AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics ?? [] }));
        const others = otherSubscriptions(members, group.topics);
        asLeader = others.length
          ? `consumer group ${JSON.stringify(groupId)} has members subscribed to other topics (${others.map((o) => o.topics.map((t) => JSON.stringify(t)).join(', ')).join('; ')}) than this worker (${[...group.topics].sort().map((t) => JSON.stringify(t)).join(', ')}): ${fix}`
          : undefined;
        return inner.assign(group);
      },
    };
  };

  return {
    /** For the consumer's partitionAssigners. */
    assigner,
    get problem(): string | undefined {
      return problem;
    },
    /** Follows one consumer's joins. */
    attach(consumer: Consumer): void {
      consumer.on(consumer.events.RECEIVED_UNSUBSCRIBED_TOPICS, (e) => {
        asMember = `consumer group ${JSON.stringify(groupId)} assigned this worker partitions of ${e.payload.topicsNotSubscribed.map((t) => JSON.stringify(t)).join(', ')}, which it does not subscribe to: ${fix}`;
      });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        const before = problem;
        problem = (e.payload.isLeader ? asLeader : undefined) ?? asMember;
        asLeader = undefined;
        asMember = undefined;
        if (problem) log.warn({ reason: REASON, groupId }, `not ready: ${REASON}: ${problem}`);
        else if (before) log.info({ groupId }, 'the consumer group reads every topic of its members again: ready');
      });
    },
  };
}
