// A decoded key as a document id. Kept apart from the registry decoders so a sink
// with JSON keys and values never loads avsc, protobufjs or the registry client.

import { NestingTooDeep, isStackOverflow, jsonNestsTooDeep } from './depth.ts';

/** The prefix of an `_id` made of a key's bytes in base64 (a binary key, or a text key starting with this prefix). */
export const BINARY_ID = 'base64:';

/** A text key as an `_id`: itself, unless it starts with BINARY_ID: then its UTF-8 bytes in that form, so no text key can name a binary key's document. */
export function textKeyId(text: string): string {
  return text.startsWith(BINARY_ID) ? BINARY_ID + Buffer.from(text).toString('base64') : text;
}

/**
 * A decoded key as a Rockset `_id`: stable across producers, so the same key
 * always names the same document. Strings stay as they are (one starting with
 * `base64:` is written in that form, as keyToId writes a text key); numbers keep
 * their digits; objects become canonical JSON (keys sorted).
 */
export function canonicalKey(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return textKeyId(value);
  let json: string;
  try {
    json = canonicalJson(value);
  } catch (err) {
    if (isStackOverflow(err)) throw new NestingTooDeep('the key');
    throw err;
  }
  if (jsonNestsTooDeep(json)) throw new NestingTooDeep('the key');
  return json;
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if ((JSON as unknown as { isRawJSON(v: unknown): boolean }).isRawJSON(value)) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}
