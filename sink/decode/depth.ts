// How deep a value may nest. JSON.parse copes with any depth, but what walks a
// value afterwards (JSON.stringify, the reviver that keeps big integers exact,
// the Avro and Protobuf readers, canonical keys) recurses and overflows the
// stack a few thousand levels down; an overflow must make a bad record, never
// crash the sink. The limit is Jackson's default (StreamReadConstraints /
// StreamWriteConstraints, which Kafka Connect's JSON converter uses): a value
// Kafka Connect would accept is accepted here.

/** Arrays and objects open at once, at most. `{}` is depth 1, `{"a":[1]}` depth 2. */
export const MAX_NESTING_DEPTH = 1000;

/** A value nests deeper than MAX_NESTING_DEPTH, or so deep that walking it overflowed the stack. */
export class NestingTooDeep extends Error {
  override name = 'NestingTooDeep';
  constructor(what = 'the value') {
    super(`${what} nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep (the sink's limit, as in Kafka Connect's JSON converter); flatten it`);
  }
}

/** The error V8 throws when recursion runs out of stack. */
export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && err.message.includes('call stack');
}

// A depth of MAX_NESTING_DEPTH + 1 takes that many openings and as many closings.
const SHORTEST_TOO_DEEP = 2 * (MAX_NESTING_DEPTH + 1);

/**
 * Whether valid JSON (UTF-8 bytes, or text) nests deeper than MAX_NESTING_DEPTH.
 * Brackets inside strings do not count; multi-byte UTF-8 never holds the ASCII
 * bytes looked at. Shorter values cannot be too deep and are not scanned, so
 * ordinary records pay one length comparison.
 */
export function jsonNestsTooDeep(json: Uint8Array | string): boolean {
  if (json.length < SHORTEST_TOO_DEEP) return false;
  return typeof json === 'string' ? scanText(json) : scanBytes(json);
}

// scanBytes and scanText are one scan over two kinds of input, written twice on
// purpose: the byte scan runs on every long JSON value of the hot path and stays a
// plain typed-array loop, with no accessor call per byte.
function scanBytes(b: Uint8Array): boolean {
  let depth = 0;
  const n = b.length;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c === 0x22) {
      // a string: skip to its closing quote, stepping over escapes
      for (i++; i < n; i++) {
        const s = b[i]!;
        if (s === 0x5c) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_NESTING_DEPTH) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

function scanText(t: string): boolean {
  let depth = 0;
  const n = t.length;
  for (let i = 0; i < n; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < n; i++) {
        const s = t.charCodeAt(i);
        if (s === 0x5c) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_NESTING_DEPTH) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}
