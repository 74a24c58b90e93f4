// Which Events a status change produces (operator/events.ts statusEvents, pure):
// a Warning when the sink becomes stalled (or stalls for another reason), Normal on
// recovery, on becoming Ready and on being paused; nothing for an unchanged status.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Condition, RocksetSinkStatus } from '../../operator/api/rocksetsink.ts';
import { statusEvents } from '../../operator/events.ts';

const cond = (type: string, status: Condition['status'], reason: string, message = `${type} ${reason}`): Condition => ({ type, status, reason, message, lastTransitionTime: '2026-11-25T10:00:00Z', observedGeneration: 1 });
const st = (...conditions: Condition[]): RocksetSinkStatus => ({ observedGeneration: 1, conditions });

const healthy = st(cond('Ready', 'True', 'Available', '1/1 workers available'), cond('Stalled', 'False', 'NotStalled'));
const invalid = st(cond('Ready', 'False', 'InvalidSpec', 'kafka.topicPattern: bad'), cond('Stalled', 'True', 'InvalidSpec', 'kafka.topicPattern: bad'));
const authFailed = st(cond('Ready', 'False', 'AuthFailed', 'Worker pod p failed'), cond('Stalled', 'True', 'AuthFailed', 'Worker pod p failed'));
const paused = st(cond('Ready', 'True', 'Paused', 'Paused: scaled to zero'), cond('Stalled', 'False', 'NotStalled'));

test('first status of a healthy sink: Ready', () => {
  assert.deepEqual(statusEvents(undefined, healthy), [{ type: 'Normal', reason: 'Ready', message: '1/1 workers available' }]);
});

test('unchanged status: no Event', () => {
  assert.deepEqual(statusEvents(healthy, healthy), []);
  assert.deepEqual(statusEvents(invalid, invalid), []);
});

test('becoming stalled: a Warning with the blocker as reason and message', () => {
  assert.deepEqual(statusEvents(healthy, invalid), [{ type: 'Warning', reason: 'InvalidSpec', message: 'kafka.topicPattern: bad' }]);
});

test('stalled for another reason: a new Warning', () => {
  assert.deepEqual(statusEvents(invalid, authFailed), [{ type: 'Warning', reason: 'AuthFailed', message: 'Worker pod p failed' }]);
});

test('recovering: Recovered, then Ready', () => {
  assert.deepEqual(statusEvents(authFailed, healthy), [
    { type: 'Normal', reason: 'Recovered', message: 'No longer stalled (was AuthFailed)' },
    { type: 'Normal', reason: 'Ready', message: '1/1 workers available' },
  ]);
});

test('paused: a Paused Event; unpaused and available again: Ready', () => {
  assert.deepEqual(statusEvents(healthy, paused), [{ type: 'Normal', reason: 'Paused', message: 'Paused: scaled to zero' }]);
  assert.deepEqual(statusEvents(paused, healthy), [{ type: 'Normal', reason: 'Ready', message: '1/1 workers available' }]);
});
