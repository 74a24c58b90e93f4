// Exponential backoff with full jitter (pure; the random source is injected), as
// Rockset's docs advised for 429s. A server's Retry-After wins when it is longer,
// up to retry.maxBackoffMs: a server (or a proxy) asking for hours or years would
// otherwise stall a partition that long while /readyz says ready.
import type { SinkConfig } from './config/schema.ts';

/**
 * Node fires a timer at once when its delay does not fit a signed 32-bit integer
 * (TimeoutOverflowWarning): a longer wait would turn into a retry storm.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function backoffMs(attempt: number, policy: SinkConfig['retry'], random: () => number = Math.random, retryAfterMs?: number): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** Math.max(0, attempt));
  // Full jitter, but never below half the step, so a burst of retries still spreads out and backs off.
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  const serverWants = Math.min(retryAfterMs ?? 0, policy.maxBackoffMs);
  return Math.min(MAX_TIMER_MS, Math.round(Math.max(jittered, serverWants)));
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  // Only an IMF-fixdate (RFC 9110): Date.parse reads "1.5" or "-1" as dates in 2001.
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v.trim())) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
