// Exact-number JSON. Rockset stored 64-bit integers (and larger) exactly; a plain
// JSON.parse rounds anything past 2^53, which would hide precision bugs in the
// sink. Unsafe integers are kept as JSON.rawJSON values, which JSON.stringify
// writes back with the original digits.
//
// The reviver path is several times slower than a plain parse, so it only runs
// when a cheap scan of the text finds a digit run that could be such an integer.

/** A value produced by JSON.rawJSON: frozen, null prototype, one `rawJSON` string. */
export interface RawJSON {
  readonly rawJSON: string;
}

interface ReviverContext {
  source?: string;
}

// The TypeScript libs in use do not declare these (ES2025+ / Node 24); cast locally
// instead of augmenting the global JSON type for the whole project.
const J = JSON as unknown as {
  parse(text: string, reviver?: (this: unknown, key: string, value: unknown, context?: ReviverContext) => unknown): unknown;
  rawJSON(text: string): RawJSON;
  isRawJSON(value: unknown): value is RawJSON;
};

const INTEGER_SOURCE = /^-?\d+$/;
const MAX_SAFE_DIGITS = String(Number.MAX_SAFE_INTEGER);

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 57;
}

/**
 * Whether UTF-8 JSON may hold an integer beyond 2^53: a run of 17+ digits, or
 * 16 digits above 9007199254740991. Every run of 16+ digits covers exactly one
 * position of each residue mod 16, so only every 16th byte is probed and runs
 * are measured around the hits (digits are ASCII; multi-byte sequences never
 * contain bytes below 0x80). Microsecond timestamps (16 digits, ~1.7e15) keep
 * the fast path; digits inside strings or fractions only cost a slower, still
 * correct, parse.
 */
export function mayHoldUnsafeInteger(bytes: Uint8Array): boolean {
  const n = bytes.length;
  for (let i = 15; i < n; i += 16) {
    if (!isDigit(bytes[i])) continue;
    let s = i;
    while (s > 0 && isDigit(bytes[s - 1])) s--;
    let e = i;
    while (e + 1 < n && isDigit(bytes[e + 1])) e++;
    const len = e - s + 1;
    if (len > 16) return true;
    if (len === 16) {
      for (let k = 0; k < 16; k++) {
        const d = bytes[s + k] as number;
        const m = MAX_SAFE_DIGITS.charCodeAt(k);
        if (d !== m) {
          if (d > m) return true;
          break;
        }
      }
    }
    i = e;
  }
  return false;
}

function exactReviver(_key: string, value: unknown, context?: ReviverContext): unknown {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    const source = context?.source;
    if (source !== undefined && INTEGER_SOURCE.test(source)) return J.rawJSON(source);
  }
  return value;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Like parseExact, for a UTF-8 request body. Throws TypeError on invalid UTF-8, SyntaxError on bad JSON. */
export function parseExactUtf8(bytes: Uint8Array): unknown {
  const text = utf8.decode(bytes);
  return mayHoldUnsafeInteger(bytes) ? J.parse(text, exactReviver) : JSON.parse(text);
}

/** JSON.parse that keeps integers outside ±(2^53-1) exact (as RawJSON values). Throws SyntaxError. */
export function parseExact(text: string): unknown {
  if (!/\d{16}/.test(text) || !mayHoldUnsafeInteger(Buffer.from(text))) return JSON.parse(text);
  return J.parse(text, exactReviver);
}

export function isRawJSON(value: unknown): value is RawJSON {
  return J.isRawJSON(value);
}

export function rawJSON(text: string): RawJSON {
  return J.rawJSON(text);
}

/** A JSON number (plain or raw) as a BigInt if it is an integer, else undefined. */
export function integerOf(value: unknown): bigint | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : undefined;
  if (isRawJSON(value) && INTEGER_SOURCE.test(value.rawJSON)) return BigInt(value.rawJSON);
  return undefined;
}

/** The best JSON representation of an integer: a number when safe, else exact raw JSON. */
export function fromInteger(n: bigint): number | RawJSON {
  const asNumber = Number(n);
  return Number.isSafeInteger(asNumber) ? asNumber : J.rawJSON(n.toString());
}

export function isNumeric(value: unknown): boolean {
  return typeof value === 'number' || (isRawJSON(value) && INTEGER_SOURCE.test(value.rawJSON));
}

/** Deep copy that shares RawJSON values (they are immutable; structuredClone would turn them into plain objects). */
export function cloneJson<T>(value: T): T {
  if (value === null || typeof value !== 'object' || isRawJSON(value)) return value;
  if (Array.isArray(value)) return value.map(cloneJson) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = cloneJson(v);
  return out as T;
}

/** JSON equality, key order ignored, a RawJSON integer equal to the same number. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isNumeric(a) && isNumeric(b)) {
    const ia = integerOf(a);
    const ib = integerOf(b);
    if (ia !== undefined && ib !== undefined) return ia === ib;
    return Number(isRawJSON(a) ? a.rawJSON : a) === Number(isRawJSON(b) ? b.rawJSON : b);
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, unknown>;
  const ra = a as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && jsonEqual(ra[k], rb[k]));
}
