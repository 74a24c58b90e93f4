// A decoded key as a document id. Kept apart from the registry decoders so a sink
// with JSON keys and values never loads avsc, protobufjs or the registry client.

import { NestingTooDeep, isStackOverflow, jsonNestsTooDeep } from './depth.ts';
import { DecodeError } from './json.ts';
import type { NumberKeyFormat } from './schemas.ts';

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

const NUMBER_KEY: Record<NumberKeyFormat, { bytes: number; serializer: string }> = {
  long: { bytes: 8, serializer: 'LongSerializer' },
  integer: { bytes: 4, serializer: 'IntegerSerializer' },
  short: { bytes: 2, serializer: 'ShortSerializer' },
};

/**
 * A key written by Kafka's Java LongSerializer, IntegerSerializer or ShortSerializer
 * (Connect's LongConverter...: big-endian, two's complement) as its decimal digits, so
 * the key 200 names the document "200" as a JSON or Avro key 200 does. Read as text,
 * such a key was control characters, or base64 once a byte was not UTF-8.
 */
export function numberKeyId(key: Buffer, format: NumberKeyFormat): string {
  const { bytes, serializer } = NUMBER_KEY[format];
  if (key.length !== bytes) {
    throw new DecodeError(`format.key is "${format}" (Java's ${serializer}, ${bytes} bytes), but this key is ${key.length} byte${key.length === 1 ? '' : 's'}. Set format.key to what the producer's key serializer writes (string for StringSerializer)`);
  }
  return (bytes === 8 ? key.readBigInt64BE(0) : bytes === 4 ? key.readInt32BE(0) : key.readInt16BE(0)).toString();
}
