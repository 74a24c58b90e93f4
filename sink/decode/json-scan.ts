// Whether a record value can be written as it is: a JSON object, not empty, without a
// top-level `_id` or `_event_time`. The common case on the hot path: its bytes go into
// the request as they are, with `_id` and `_event_time` appended (sink/map.ts), and
// nothing of it needs to be parsed into objects. This scan checks the JSON grammar
// over the UTF-8 bytes without allocating; UTF-8 itself is checked by the caller.
//
// Only its `true` must be exact: true means JSON.parse takes the text and gives such
// an object. Anything it does not accept (escapes in a top-level key, nesting past the
// limit, any doubt) answers false, and the caller parses the value the general way,
// which also names what is wrong with a bad one.
import { MAX_NESTING_DEPTH } from './depth.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const OBJECT = 1;
const ARRAY = 2;
const ID = [0x5f, 0x69, 0x64]; // _id
const EVENT_TIME = [0x5f, 0x65, 0x76, 0x65, 0x6e, 0x74, 0x5f, 0x74, 0x69, 0x6d, 0x65]; // _event_time

// One stack for the thread: the scan is synchronous and never re-entered.
const stack = new Uint8Array(MAX_NESTING_DEPTH + 1);

const isWs = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;
const isHex = (c: number | undefined) => c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));

function skipWs(b: Uint8Array, i: number): number {
  while (isWs(b[i])) i++;
  return i;
}

/** The index after the string that starts at b[i] (a quote), or -1 when it is not a JSON string. */
function skipString(b: Uint8Array, i: number): number {
  const n = b.length;
  for (i++; i < n; i++) {
    const c = b[i]!;
    if (c > BACKSLASH) continue; // lower-case letters and UTF-8 bytes: most of a string, one comparison
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1;
    if (c !== BACKSLASH) continue;
    const e = b[i + 1];
    if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) i += 1;
    else if (e === 0x75 && isHex(b[i + 2]) && isHex(b[i + 3]) && isHex(b[i + 4]) && isHex(b[i + 5])) i += 5;
    else return -1;
  }
  return -1;
}

/** The index after the number that starts at b[i], or -1. */
function skipNumber(b: Uint8Array, i: number): number {
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i])) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === 0x2e) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i;
}

function skipLiteral(b: Uint8Array, i: number, word: readonly number[]): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

function keyIs(b: Uint8Array, from: number, to: number, name: readonly number[]): boolean {
  if (to - from !== name.length) return false;
  for (let k = 0; k < name.length; k++) if (b[from + k] !== name[k]) return false;
  return true;
}

/** Whether the bytes from `start` (after a BOM) are a non-empty JSON object without a top-level `_id` or `_event_time`. */
export function isSpliceableObject(b: Uint8Array, start = 0): boolean {
  const n = b.length;
  let i = skipWs(b, start);
  if (b[i] !== LBRACE) return false;
  i = skipWs(b, i + 1);
  if (b[i] === RBRACE) return false; // {}: the general path writes it
  stack[0] = OBJECT;
  let depth = 1;
  for (;;) {
    if (stack[depth - 1] === OBJECT) {
      if (b[i] !== QUOTE) return false;
      const keyStart = i + 1;
      i = skipString(b, i);
      if (i < 0) return false;
      if (depth === 1) {
        for (let k = keyStart; k < i - 1; k++) if (b[k] === BACKSLASH) return false; // an escaped key may spell _id
        if (keyIs(b, keyStart, i - 1, ID) || keyIs(b, keyStart, i - 1, EVENT_TIME)) return false;
      }
      i = skipWs(b, i);
      if (b[i] !== COLON) return false;
      i = skipWs(b, i + 1);
    }
    const c = b[i];
    if (c === LBRACE || c === LBRACKET) {
      if (depth >= MAX_NESTING_DEPTH) return false;
      stack[depth++] = c === LBRACE ? OBJECT : ARRAY;
      i = skipWs(b, i + 1);
      if (b[i] !== (c === LBRACE ? RBRACE : RBRACKET)) continue; // its first member or element
      depth--;
      i++;
    } else if (c === QUOTE) i = skipString(b, i);
    else if (c === 0x2d || isDigit(c)) i = skipNumber(b, i);
    else if (c === 0x74) i = skipLiteral(b, i, TRUE);
    else if (c === 0x66) i = skipLiteral(b, i, FALSE);
    else if (c === 0x6e) i = skipLiteral(b, i, NULL);
    else return false;
    if (i < 0) return false;
    // after a value: a comma and the next one, or the closing of its container (and perhaps of those around it)
    for (;;) {
      i = skipWs(b, i);
      const d = b[i];
      if (d === COMMA) {
        i = skipWs(b, i + 1);
        break;
      }
      if (d !== (stack[depth - 1] === OBJECT ? RBRACE : RBRACKET)) return false;
      depth--;
      i++;
      if (depth === 0) return skipWs(b, i) === n;
    }
  }
}
