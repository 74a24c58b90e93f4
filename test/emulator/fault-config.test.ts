// Fault configuration, decisions and the token bucket as pure units (no HTTP).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultFaultConfig, FaultConfigError, FaultInjector, parseFaultConfig, seededRandom, TokenBucket } from '../../emulator/faults.ts';

test('parseFaultConfig fills defaults, merges onto a base and validates', () => {
  const c = parseFaultConfig({ latencyMs: 10, probabilities: { '503': 0.25 } });
  assert.equal(c.latencyMs, 10);
  assert.equal(c.probabilities['503'], 0.25);
  assert.equal(c.probabilities['500'], 0);
  assert.equal(c.retryAfterSeconds, 1);
  const merged = parseFaultConfig({ jitterMs: 5 }, c);
  assert.equal(merged.latencyMs, 10);
  assert.equal(merged.jitterMs, 5);
  assert.equal(parseFaultConfig({ retryAfterSeconds: null }).retryAfterSeconds, null);
  for (const bad of [null, [], { latencyMs: 'x' }, { probabilities: { stall: -0.1 } }, { probabilities: { '429': 0.5, stall: 0.6 } }, { retryAfterSeconds: 1.5 }, { stallApply: 'yes' }, { script: {} }, { script: [{ fault: '503', extra: 1 }] }]) {
    assert.throws(() => parseFaultConfig(bad), FaultConfigError, JSON.stringify(bad));
  }
});

test('the same seed gives the same random sequence', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const c = seededRandom(43);
  const sa = Array.from({ length: 5 }, a);
  assert.deepEqual(Array.from({ length: 5 }, b), sa);
  assert.notDeepEqual(Array.from({ length: 5 }, c), sa);
  assert.ok(sa.every((x) => x >= 0 && x < 1));
});

test('FaultInjector: script first (with times and overrides), then probabilities drawn from the RNG', () => {
  const cfg = parseFaultConfig({
    latencyMs: 3,
    probabilities: { '500': 0.5 },
    script: [{ fault: '429', times: 2, retryAfterSeconds: null }, { fault: 'stall', stallMs: 10, stallApply: true }],
  });
  const draws = [0.9, 0.1];
  const inj = new FaultInjector(cfg, () => draws.shift() ?? 0.99);
  const d1 = inj.decide();
  assert.deepEqual([d1.kind, d1.scripted, d1.retryAfterSeconds, d1.delayMs], ['429', true, null, 3]);
  assert.equal(inj.config.script[0]?.times, 1);
  assert.equal(inj.decide().kind, '429');
  const d3 = inj.decide();
  assert.deepEqual([d3.kind, d3.stallMs, d3.stallApply], ['stall', 10, true]);
  assert.equal(inj.decide().kind, 'none', 'draw 0.9 >= 0.5');
  assert.equal(inj.decide().kind, '500', 'draw 0.1 < 0.5');
  assert.equal(inj.config.script.length, 0);
});

test('FaultInjector: probabilities partition [0,1) in a fixed kind order; idle when nothing is configured', () => {
  const cfg = parseFaultConfig({ probabilities: { '429': 0.1, '500': 0.1, '502': 0.1, '503': 0.1, 'drop-before': 0.1, 'drop-after': 0.1, stall: 0.1 } });
  const r = seededRandom(1);
  const inj = new FaultInjector(cfg, r);
  const counts = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const k = inj.decide().kind;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  for (const k of ['429', '500', '502', '503', 'drop-before', 'drop-after', 'stall']) {
    const n = counts.get(k) ?? 0;
    assert.ok(n > 1700 && n < 2300, `${k}: ${n}`);
  }
  assert.ok((counts.get('none') ?? 0) > 5000);
  assert.equal(new FaultInjector(defaultFaultConfig(), r).idle, true);
  assert.equal(inj.idle, false);
});

test('TokenBucket: burst, then refill at the configured rate', () => {
  let now = 0;
  const b = new TokenBucket(10, 3, () => now);
  assert.deepEqual([b.take(), b.take(), b.take(), b.take()], [true, true, true, false]);
  now += 100; // one token at 10/s
  assert.deepEqual([b.take(), b.take()], [true, false]);
  now += 10_000; // refill is capped at the burst
  assert.deepEqual([b.take(), b.take(), b.take(), b.take()], [true, true, true, false]);
});
