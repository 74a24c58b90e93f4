// How the sink reads kafkajs's errors: the broker's error type may sit on the error
// itself or on its cause (retries exhausted, a non-retriable wrapper). Built with
// kafkajs's own error classes, as its client raises them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { membershipLost, topicOrPartitionUnknown } from '../../sink/errors.ts';

const { KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError, KafkaJSConnectionError } = kafkajs;
const protocol = (type: string, code: number) => new KafkaJSProtocolError({ message: `broker says ${type}`, type, code, retriable: true } as unknown as string);

test('a deleted topic is recognised directly and after kafkajs gave up retrying', () => {
  const unknown = protocol('UNKNOWN_TOPIC_OR_PARTITION', 3);
  assert.equal(topicOrPartitionUnknown(unknown), true);
  assert.equal(topicOrPartitionUnknown(new KafkaJSNumberOfRetriesExceeded(unknown, { retryCount: 5, retryTime: 8000 } as never)), true);
  assert.equal(topicOrPartitionUnknown(protocol('NOT_LEADER_FOR_PARTITION', 6)), false);
  assert.equal(topicOrPartitionUnknown(new KafkaJSConnectionError('Connection error: ECONNREFUSED')), false);
  assert.equal(topicOrPartitionUnknown(undefined), false);
});

test('lost group membership is recognised on the error or its cause', () => {
  assert.equal(membershipLost(protocol('REBALANCE_IN_PROGRESS', 27)), 'REBALANCE_IN_PROGRESS');
  assert.equal(membershipLost(new (KafkaJSNonRetriableError as unknown as new (m: string, o: { cause: unknown }) => Error)('commit failed', { cause: protocol('UNKNOWN_MEMBER_ID', 25) })), 'UNKNOWN_MEMBER_ID');
  assert.equal(membershipLost(protocol('UNKNOWN_TOPIC_OR_PARTITION', 3)), undefined);
});
