// Which members of a consumer group subscribe to other topics than this worker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { otherSubscriptions } from '../../sink/kafka/assignment.ts';

test('members with the same topics (any order, repeats) agree; a member with other or more topics is named', () => {
  const members = [
    { memberId: 'a', topics: ['orders', 'refunds'] },
    { memberId: 'b', topics: ['refunds', 'orders', 'orders'] },
    { memberId: 'c', topics: ['payments'] },
    { memberId: 'd', topics: ['orders', 'refunds', 'payments'] },
  ];
  assert.deepEqual(otherSubscriptions(members, ['orders', 'refunds']), [
    { memberId: 'c', topics: ['payments'] },
    { memberId: 'd', topics: ['orders', 'payments', 'refunds'] },
  ]);
  assert.deepEqual(otherSubscriptions(members.slice(0, 2), ['refunds', 'orders']), []);
});
