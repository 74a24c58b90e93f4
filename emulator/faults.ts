// Fault injection: pure configuration, validation and per-request decisions.
// The RNG is injected (seedable) so that a run with the same seed and the same
// request sequence injects the same faults.

export const FAULT_KINDS = ['429', '500', '502', '503', 'drop-before', 'drop-after', 'stall', 'malformed-200', 'oversized-200'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** `none` only appears in scripts: it lets one request through untouched. */
export type ScriptFaultKind = FaultKind | 'none';

export interface ScriptStep {
  fault: ScriptFaultKind;
  /** How many consecutive requests this step applies to (default 1). */
  times?: number;
  /** Overrides the configured latency for these requests. */
  latencyMs?: number;
  /** For `stall`: overrides stallMs / stallApply. */
  stallMs?: number;
  stallApply?: boolean;
  /** For `429`: overrides retryAfterSeconds (null: no header). */
  retryAfterSeconds?: number | null;
}

export interface FaultConfig {
  /** Added to every write request, before anything else happens to it. */
  latencyMs: number;
  /** Extra uniform random latency in [0, jitterMs]. */
  jitterMs: number;
  /** Probability (0..1) of each fault per write request; their sum must be <= 1. */
  probabilities: Record<FaultKind, number>;
  /** Retry-After header on injected 429s; null sends none. */
  retryAfterSeconds: number | null;
  /** How long a stalled request is held open. */
  stallMs: number;
  /** After the stall: true applies the write (and answers 200 if the client still listens); false drops the connection unapplied. */
  stallApply: boolean;
  /** For `oversized-200`: the size of the answer's body in bytes. */
  oversizedBytes: number;
  /** Consumed in order, one request per step (times), before probabilistic faults. */
  script: ScriptStep[];
}

/** A partial configuration as accepted from users (start options, PUT/PATCH /_emulator/faults). */
export type FaultConfigInput = Partial<Omit<FaultConfig, 'probabilities'>> & { probabilities?: Partial<Record<FaultKind, number>> };

export interface FaultDecision {
  kind: FaultKind | 'none';
  delayMs: number;
  stallMs: number;
  stallApply: boolean;
  retryAfterSeconds: number | null;
  scripted: boolean;
}

export function defaultFaultConfig(): FaultConfig {
  return {
    latencyMs: 0,
    jitterMs: 0,
    probabilities: { '429': 0, '500': 0, '502': 0, '503': 0, 'drop-before': 0, 'drop-after': 0, stall: 0, 'malformed-200': 0, 'oversized-200': 0 },
    retryAfterSeconds: 1,
    stallMs: 30_000,
    stallApply: false,
    oversizedBytes: 64 * 1024 * 1024,
    script: [],
  };
}

export class FaultConfigError extends Error {}

function nonNegative(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new FaultConfigError(`${what} must be a non-negative number`);
  return value;
}

function retryAfter(value: unknown, what: string): number | null {
  if (value === null) return null;
  const n = nonNegative(value, what);
  if (!Number.isInteger(n)) throw new FaultConfigError(`${what} must be an integer number of seconds or null`);
  return n;
}

function bool(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new FaultConfigError(`${what} must be a boolean`);
  return value;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) throw new FaultConfigError(`unknown ${what} field "${k}"`);
}

const SCRIPT_KINDS: readonly string[] = [...FAULT_KINDS, 'none'];

export function parseScriptStep(input: unknown, index: number): ScriptStep {
  const what = `script[${index}]`;
  if (!isRecord(input)) throw new FaultConfigError(`${what} must be an object`);
  checkKeys(input, ['fault', 'times', 'latencyMs', 'stallMs', 'stallApply', 'retryAfterSeconds'], what);
  const fault = input['fault'];
  if (typeof fault !== 'string' || !SCRIPT_KINDS.includes(fault)) {
    throw new FaultConfigError(`${what}.fault must be one of ${SCRIPT_KINDS.join(', ')}`);
  }
  const step: ScriptStep = { fault: fault as ScriptFaultKind };
  if (input['times'] !== undefined) {
    const t = nonNegative(input['times'], `${what}.times`);
    if (!Number.isInteger(t) || t < 1) throw new FaultConfigError(`${what}.times must be a positive integer`);
    step.times = t;
  }
  if (input['latencyMs'] !== undefined) step.latencyMs = nonNegative(input['latencyMs'], `${what}.latencyMs`);
  if (input['stallMs'] !== undefined) step.stallMs = nonNegative(input['stallMs'], `${what}.stallMs`);
  if (input['stallApply'] !== undefined) step.stallApply = bool(input['stallApply'], `${what}.stallApply`);
  if (input['retryAfterSeconds'] !== undefined) step.retryAfterSeconds = retryAfter(input['retryAfterSeconds'], `${what}.retryAfterSeconds`);
  return step;
}

/**
 * Validates a (partial) fault configuration. Fields left out take their values
 * from `base` (defaults when not given), so `{}` means "no faults".
 */
export function parseFaultConfig(input: unknown, base: FaultConfig = defaultFaultConfig()): FaultConfig {
  if (!isRecord(input)) throw new FaultConfigError('fault configuration must be a JSON object');
  checkKeys(input, ['latencyMs', 'jitterMs', 'probabilities', 'retryAfterSeconds', 'stallMs', 'stallApply', 'oversizedBytes', 'script'], 'fault configuration');
  const out: FaultConfig = { ...base, probabilities: { ...base.probabilities }, script: [...base.script] };
  if (input['latencyMs'] !== undefined) out.latencyMs = nonNegative(input['latencyMs'], 'latencyMs');
  if (input['jitterMs'] !== undefined) out.jitterMs = nonNegative(input['jitterMs'], 'jitterMs');
  if (input['retryAfterSeconds'] !== undefined) out.retryAfterSeconds = retryAfter(input['retryAfterSeconds'], 'retryAfterSeconds');
  if (input['stallMs'] !== undefined) out.stallMs = nonNegative(input['stallMs'], 'stallMs');
  if (input['stallApply'] !== undefined) out.stallApply = bool(input['stallApply'], 'stallApply');
  if (input['oversizedBytes'] !== undefined) {
    const n = nonNegative(input['oversizedBytes'], 'oversizedBytes');
    if (!Number.isInteger(n)) throw new FaultConfigError('oversizedBytes must be an integer number of bytes');
    out.oversizedBytes = n;
  }
  const probs = input['probabilities'];
  if (probs !== undefined) {
    if (!isRecord(probs)) throw new FaultConfigError('probabilities must be an object');
    checkKeys(probs, FAULT_KINDS, 'probabilities');
    for (const kind of FAULT_KINDS) {
      const p = probs[kind];
      if (p === undefined) continue;
      if (nonNegative(p, `probabilities.${kind}`) > 1) throw new FaultConfigError(`probabilities.${kind} must be between 0 and 1`);
      out.probabilities[kind] = p as number;
    }
  }
  const total = FAULT_KINDS.reduce((sum, k) => sum + out.probabilities[k], 0);
  if (total > 1 + 1e-9) throw new FaultConfigError(`fault probabilities add up to ${total}, more than 1`);
  const script = input['script'];
  if (script !== undefined) {
    if (!Array.isArray(script)) throw new FaultConfigError('script must be an array');
    out.script = script.map(parseScriptStep);
  }
  return out;
}

/** mulberry32: small, fast, good enough for fault dice; the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private cfg: FaultConfig;
  private readonly random: () => number;
  /** Requests still owed by the script head (its `times`). */
  private headRemaining = 0;

  constructor(config: FaultConfig, random: () => number) {
    this.cfg = config;
    this.random = random;
    this.headRemaining = config.script[0]?.times ?? 1;
  }

  get config(): FaultConfig {
    // The visible script is what is still to come, with the head's remaining count.
    const script = this.cfg.script.map((s, i) => ({ ...s, times: i === 0 ? this.headRemaining : (s.times ?? 1) }));
    return { ...this.cfg, probabilities: { ...this.cfg.probabilities }, script };
  }

  set config(config: FaultConfig) {
    this.cfg = config;
    this.headRemaining = config.script[0]?.times ?? 1;
  }

  /** True when no request can be affected (lets the hot path skip timers). */
  get idle(): boolean {
    const c = this.cfg;
    return c.script.length === 0 && c.latencyMs === 0 && c.jitterMs === 0 && FAULT_KINDS.every((k) => c.probabilities[k] === 0);
  }

  decide(): FaultDecision {
    const c = this.cfg;
    const step = c.script[0];
    if (step !== undefined) {
      this.headRemaining -= 1;
      if (this.headRemaining <= 0) {
        c.script.shift();
        this.headRemaining = c.script[0]?.times ?? 1;
      }
      return {
        kind: step.fault,
        delayMs: step.latencyMs ?? this.latency(),
        stallMs: step.stallMs ?? c.stallMs,
        stallApply: step.stallApply ?? c.stallApply,
        retryAfterSeconds: step.retryAfterSeconds !== undefined ? step.retryAfterSeconds : c.retryAfterSeconds,
        scripted: true,
      };
    }
    let kind: FaultKind | 'none' = 'none';
    let total = 0;
    for (const k of FAULT_KINDS) total += c.probabilities[k];
    if (total > 0) {
      const r = this.random();
      let acc = 0;
      for (const k of FAULT_KINDS) {
        acc += c.probabilities[k];
        if (r < acc) {
          kind = k;
          break;
        }
      }
    }
    return { kind, delayMs: this.latency(), stallMs: c.stallMs, stallApply: c.stallApply, retryAfterSeconds: c.retryAfterSeconds, scripted: false };
  }

  private latency(): number {
    const c = this.cfg;
    return c.jitterMs > 0 ? c.latencyMs + this.random() * c.jitterMs : c.latencyMs;
  }
}

/** Token bucket: `rate` requests per second on average, bursts up to `burst`. */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  private tokens: number;
  private last: number;
  private readonly now: () => number;

  constructor(rate: number, burst: number = Math.max(1, rate), now: () => number = () => performance.now()) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
    this.now = now;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}
