// JSON record values, with integers beyond 2^53 kept to the digit: plain
// JSON.parse rounds them silently. A negative zero keeps its sign the same way
// (-0.0, as Avro and Protobuf floats write it). Node 24's reviver source-text access plus
// JSON.rawJSON keeps them exact, and JSON.stringify writes them back verbatim.
// The reviver is several times slower, so it runs only when the text has a run
// of 16+ digits (the only way to spell such an integer) or a negative zero.

import { NestingTooDeep, isStackOverflow } from './depth.ts';

interface ReviverContext {
  source?: string;
}

const J = JSON as unknown as {
  parse(text: string, reviver: (key: string, value: unknown, context?: ReviverContext) => unknown): unknown;
  rawJSON(text: string): unknown;
};

const LONG_DIGIT_RUN = /\d{16}/;
const INTEGER = /^-?\d+$/;
// a negative zero (-0, -0.0, -0e3): JSON.parse makes it -0, which JSON.stringify writes as 0
const NEGATIVE_ZERO = /-0(?:\.0*)?(?:[eE][+-]?\d+)?(?![\d.eE])/;

function keepExact(_key: string, value: unknown, context?: ReviverContext): unknown {
  if (typeof value !== 'number' || context?.source === undefined) return value;
  if (value === 0 ? Object.is(value, -0) : !Number.isSafeInteger(value) && INTEGER.test(context.source)) return J.rawJSON(context.source);
  return value;
}

/** JSON.parse, with integers beyond 2^53 and negative zeros kept as written (JSON.rawJSON values). */
export function parseJsonExact(text: string): unknown {
  return LONG_DIGIT_RUN.test(text) || (text.includes('-0') && NEGATIVE_ZERO.test(text)) ? J.parse(text, keepExact) : JSON.parse(text);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A record value as text (a leading BOM dropped). Throws DecodeError when it is not UTF-8. */
export function decodeJsonText(value: Uint8Array): string {
  try {
    return utf8.decode(value);
  } catch {
    throw new DecodeError('the value is not valid UTF-8, so it cannot be JSON');
  }
}

/**
 * Parses JSON text, throwing DecodeError when it is not JSON. `exact: false`
 * skips the big-integer scan: for callers that write the original text on and
 * only need the parse to validate it and to look at its shape.
 */
export function parseJsonText(text: string, exact = true): unknown {
  try {
    return exact ? parseJsonExact(text) : JSON.parse(text);
  } catch (err) {
    // JSON.parse copes with any depth, but the reviver that keeps big integers exact recurses
    if (isStackOverflow(err)) throw new NestingTooDeep();
    throw new DecodeError(`the value is not valid JSON (${(err as Error).message})`);
  }
}

/** Decodes a record value as a JSON document. Throws with a reason a user can act on. */
export function decodeJsonValue(value: Uint8Array): unknown {
  return parseJsonText(decodeJsonText(value));
}

export class DecodeError extends Error {
  override name = 'DecodeError';
}
