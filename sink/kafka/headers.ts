// Record headers as Kafka has them: an ordered list of (key, value) pairs, where a key
// may repeat and a value may be null (Java's `new RecordHeader("k", null)`). kafkajs
// 2.x folds them into an object, which loses the order between keys (and puts keys
// like "1" first), and its producer throws on a null value while sizing the record
// (Buffer.byteLength(null) in sizeOfHeaders), so one such record made every
// dead-letter send fail. This swaps kafkajs's record encoder and decoder for copies
// that (1) keep the ordered list on the headers object, under HEADER_LIST, and
// (2) write that list, nulls included, when a message's headers carry one.
// Everything else about the records is as kafkajs does it.
import { createRequire } from 'node:module';
import path from 'node:path';
import type { IHeaders } from 'kafkajs';

/** The record's headers in wire order; null where the value is null. Not enumerable. */
export const HEADER_LIST = Symbol.for('rockset-sink.kafka.headerList');

export type HeaderEntry = readonly [key: string, value: Buffer | string | null];

/** A headers object as kafkajs gives it, maybe with the wire-order list attached. */
export type Headers = Record<string, Buffer | string | null | undefined | (Buffer | string | null)[]> & { [HEADER_LIST]?: readonly HeaderEntry[] };

const require = createRequire(import.meta.url);
const protocol = path.join(path.dirname(require.resolve('kafkajs')), 'src/protocol');

interface KafkaEncoder {
  writeVarInt(n: number): KafkaEncoder;
  writeInt8(n: number): KafkaEncoder;
  writeVarLong(n: unknown): KafkaEncoder;
  writeVarIntBytes(v: Buffer | string | null | undefined): KafkaEncoder;
  writeVarIntArray(items: KafkaEncoder[]): KafkaEncoder;
}
interface KafkaDecoder {
  readInt8(): number;
  readVarLong(): unknown;
  readVarInt(): number;
  readVarIntBytes(): Buffer | null;
  readVarIntArray<T>(reader: (d: KafkaDecoder) => T): T[];
}
interface EncoderClass {
  new (): KafkaEncoder;
  sizeOfVarInt(n: number): number;
  sizeOfVarLong(n: unknown): number;
  sizeOfVarIntBytes(v: Buffer | string | null | undefined): number;
}
interface LongLike {
  add(n: unknown): { toString(): string };
}

/** The headers in wire order: the attached list, else the object's entries, arrays spread. */
export function headerEntries(headers: Headers | IHeaders | undefined): HeaderEntry[] {
  if (!headers) return [];
  const list = (headers as Headers)[HEADER_LIST];
  if (list) return [...list];
  const out: HeaderEntry[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push([key, v ?? null]);
    else out.push([key, value as Buffer | string | null]);
  }
  return out;
}

/** A headers object for kafkajs's producer that writes exactly these entries, in this order. */
export function headersOf(entries: readonly HeaderEntry[]): IHeaders {
  const headers = foldHeaders(entries);
  Object.defineProperty(headers, HEADER_LIST, { value: entries, enumerable: false });
  return headers as IHeaders;
}

// As kafkajs folds them: one value per key, an array (in order) for a repeated key.
function foldHeaders(entries: readonly HeaderEntry[]): Headers {
  const headers: Headers = {};
  for (const [key, value] of entries) {
    const prev = Object.hasOwn(headers, key) ? headers[key] : undefined;
    const next = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    // a key named __proto__ must stay a header, not become the object's prototype
    Object.defineProperty(headers, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return headers;
}

let installed = false;

/**
 * Puts the header-preserving record encoder and decoder in place of kafkajs's, and
 * drops the (lazily loaded) request modules that captured the originals, so the
 * next produce and fetch load them again with these. Idempotent.
 */
export function registerHeaderCodec(): void {
  if (installed) return;
  const Encoder = require(path.join(protocol, 'encoder.js')) as EncoderClass;
  const Long = require(path.join(protocol, '../utils/long.js')) as { fromValue(v: unknown): LongLike };
  const TimestampTypes = require(path.join(protocol, 'timestampTypes.js')) as { LOG_APPEND_TIME: number };
  const Header = require(path.join(protocol, 'recordBatch/header/v0/index.js')) as (h: { key: string; value: HeaderEntry[1] }) => KafkaEncoder;
  const HeaderDecoder = require(path.join(protocol, 'recordBatch/header/v0/decoder.js')) as (d: KafkaDecoder) => { key: string; value: Buffer | null };

  const sizeOfHeaders = (entries: readonly HeaderEntry[]): number => {
    let size = Encoder.sizeOfVarInt(entries.length);
    for (const [key, value] of entries) {
      const keySize = Buffer.byteLength(key);
      size += Encoder.sizeOfVarInt(keySize) + keySize + Encoder.sizeOfVarIntBytes(value);
    }
    return size;
  };

  // kafkajs 2.2.4's recordBatch/record/v0/index.js, with headers from headerEntries.
  const encodeRecord = ({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: { offsetDelta?: number; timestampDelta?: number; key: Buffer | string | null; value: Buffer | string | null; headers?: Headers }) => {
    const entries = headerEntries(headers);
    const sizeOfBody = 1 + Encoder.sizeOfVarLong(timestampDelta) + Encoder.sizeOfVarInt(offsetDelta) + Encoder.sizeOfVarIntBytes(key) + Encoder.sizeOfVarIntBytes(value) + sizeOfHeaders(entries);
    return new Encoder()
      .writeVarInt(sizeOfBody)
      .writeInt8(0) // no used record attributes at the moment
      .writeVarLong(timestampDelta)
      .writeVarInt(offsetDelta)
      .writeVarIntBytes(key)
      .writeVarIntBytes(value)
      .writeVarIntArray(entries.map(([k, v]) => Header({ key: k, value: v })));
  };

  // kafkajs 2.2.4's recordBatch/record/v0/decoder.js, keeping the wire-order list.
  const decodeRecord = (decoder: KafkaDecoder, batchContext: Record<string, unknown> = {}) => {
    const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
    const attributes = decoder.readInt8();
    const timestampDelta = decoder.readVarLong();
    const timestamp = timestampType === TimestampTypes.LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : Long.fromValue(firstTimestamp).add(timestampDelta).toString();
    const offsetDelta = decoder.readVarInt();
    const offset = Long.fromValue(firstOffset).add(offsetDelta).toString();
    const key = decoder.readVarIntBytes();
    const value = decoder.readVarIntBytes();
    const list = decoder.readVarIntArray(HeaderDecoder);
    let headers: Headers = {};
    if (list.length) {
      const entries: HeaderEntry[] = list.map((h) => [h.key, h.value]);
      headers = foldHeaders(entries);
      Object.defineProperty(headers, HEADER_LIST, { value: entries, enumerable: false });
    }
    return { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord: isControlBatch, batchContext };
  };

  const replace = (file: string, exports: unknown) => {
    const id = require.resolve(path.join(protocol, file));
    require(id); // a cache entry to replace
    require.cache[id]!.exports = exports;
  };
  replace('recordBatch/record/v0/index.js', encodeRecord);
  replace('recordBatch/record/v0/decoder.js', decodeRecord);
  // The modules that hold kafkajs's originals; the request tables require them per call.
  for (const id of Object.keys(require.cache)) {
    const rel = path.relative(protocol, id);
    if (/^requests\/(produce|fetch)\/v\d+\/(request|response|decodeMessages)\.js$/.test(rel) || rel === 'recordBatch/v0/decoder.js') delete require.cache[id];
  }
  installed = true;
}
