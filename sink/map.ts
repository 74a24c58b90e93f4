// record -> action (pure): decides the Rockset document for a Kafka record, or
// that it is a delete, a no-op, or a bad record. Everything here is
// deterministic, so a redelivered record maps to the same `_id` and a retried
// write replaces instead of duplicating.
import type { SinkConfig } from './config/schema.ts';
import { NestingTooDeep, isStackOverflow, jsonNestsTooDeep } from './decode/depth.ts';
import { BINARY_ID, textKeyId } from './decode/key.ts';
import { isUtf8 } from 'node:buffer';
import { DecodeError, decodeJsonText, parseJsonText } from './decode/json.ts';
import { isSpliceableObject } from './decode/json-scan.ts';
import type { Action, SinkRecord } from './record.ts';

export interface MapOptions {
  documents: SinkConfig['documents'];
  collectionFor(topic: string): string;
  /** Turns a record value into a document; JSON unless a registry format says otherwise. */
  decode?: (value: Buffer, record: SinkRecord) => unknown;
  /** Turns a record key into an `_id`; the key's UTF-8 text unless a registry format says otherwise. Throws DecodeError. */
  keyId?: (key: Buffer) => string | undefined;
}

export class MappingError extends Error {
  override name = 'MappingError';
}

// ignoreBOM keeps a leading U+FEFF: stripping it would merge distinct keys into one _id
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The record key as a Rockset `_id`: its UTF-8 text, or `base64:<...>` for binary
 * keys. A text key that itself starts with `base64:` takes the binary form too, so
 * an `_id` starting with `base64:` is always the base64 of the key's bytes and no
 * text key can name a binary key's document. Other text keys keep their text.
 */
export function keyToId(key: Buffer | null): string | undefined {
  if (key === null || key.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(key);
  } catch {
    return BINARY_ID + key.toString('base64');
  }
  return textKeyId(text);
}

export function coordinatesId(r: SinkRecord): string {
  return `${r.topic}-${r.partition}-${r.offset}`;
}

const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/i;

/** Date.parse rolls 2024-02-30 over into March; a timestamp naming a day that does not exist is an error. */
function realCalendarDate(dateTime: string): boolean {
  const [y, mo, d] = dateTime.slice(0, 10).split('-').map(Number) as [number, number, number];
  const probe = new Date(Date.UTC(y, mo - 1, d));
  return probe.getUTCFullYear() === y && probe.getUTCMonth() === mo - 1 && probe.getUTCDate() === d;
}

/**
 * An event time as Rockset wants it: integer microseconds. Numbers are epoch
 * milliseconds (the Kafka convention); strings are ISO-8601 with a zone;
 * Rockset's own `{"__rockset_type":"timestamp"}` form passes through.
 */
export function toEventTimeMicros(value: unknown, what: string): number | object {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new MappingError(`${what} is ${value}, not epoch milliseconds`);
    return Math.round(value * 1000);
  }
  if (typeof value === 'string') {
    const m = ISO.exec(value);
    const ms = m && realCalendarDate(m[1]!) ? Date.parse(`${m[1]}${m[3]}`) : NaN;
    if (!m || Number.isNaN(ms)) throw new MappingError(`${what} is ${JSON.stringify(value)}, not an ISO-8601 timestamp with a zone (e.g. 2024-05-01T12:00:00.123456Z)`);
    const micros = Number(((m[2] ?? '') + '000000').slice(0, 6));
    return ms * 1000 + micros;
  }
  if (typeof value === 'object' && value !== null && (value as { __rockset_type?: unknown }).__rockset_type === 'timestamp') return value;
  throw new MappingError(`${what} is ${JSON.stringify(value)}; use epoch milliseconds or an ISO-8601 string`);
}

function asDocument(value: unknown): Record<string, unknown> {
  // The Rockset Kafka connector accepted a one-object array as that object.
  if (Array.isArray(value)) {
    if (value.length === 1 && isPlainObject(value[0])) return value[0];
    throw new MappingError(`the value is a JSON array of ${value.length} element(s); only an object, or an array holding exactly one object, is a document`);
  }
  if (!isPlainObject(value)) throw new MappingError(`the value is a JSON ${jsonKind(value)}, not an object`);
  return value;
}

const isRawJSON = (v: unknown): boolean => (JSON as unknown as { isRawJSON(x: unknown): boolean }).isRawJSON(v);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isRawJSON(v);
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (isRawJSON(v)) return 'number'; // an exact big integer
  return typeof v;
}

function idFromKey(r: SinkRecord, opts: MapOptions): string | undefined {
  if (r.key === null || r.key.length === 0) return undefined;
  return opts.keyId ? opts.keyId(r.key) : keyToId(r.key);
}

function documentId(r: SinkRecord, doc: Record<string, unknown> | undefined, opts: MapOptions): string {
  const { idSource } = opts.documents;
  if (idSource === 'document' && doc && typeof doc._id === 'string' && doc._id !== '') return doc._id;
  if (idSource !== 'coordinates') {
    const fromKey = idFromKey(r, opts);
    if (fromKey !== undefined) return fromKey;
  }
  return coordinatesId(r);
}

/** A field by name, or by a dotted path into nested objects when no field has the whole name. */
function fieldValue(doc: Record<string, unknown>, name: string): { found: boolean; value?: unknown } {
  if (Object.hasOwn(doc, name)) return { found: true, value: doc[name] };
  let at: unknown = doc;
  for (const part of name.split('.')) {
    if (!isPlainObject(at) || !Object.hasOwn(at, part)) return { found: false };
    at = at[part];
  }
  return { found: true, value: at };
}

function eventTimeOf(r: SinkRecord, doc: Record<string, unknown>, opts: MapOptions): number | object | undefined {
  const { eventTime, eventTimeField } = opts.documents;
  if (eventTime === 'timestamp') {
    const ms = Number(r.timestamp);
    return Number.isFinite(ms) && ms >= 0 ? ms * 1000 : undefined;
  }
  if (eventTime === 'field' && eventTimeField) {
    const field = fieldValue(doc, eventTimeField);
    if (!field.found) throw new MappingError(`the document has no field "${eventTimeField}" (documents.eventTimeField)`);
    return toEventTimeMicros(field.value, `field "${eventTimeField}"`);
  }
  return undefined;
}

/**
 * The common case without a parse -> copy -> stringify round trip: a JSON object
 * that has neither `_id` nor `_event_time` keeps its own bytes, and the two fields
 * are appended before its closing brace. Unless the event time is read from a field,
 * nothing of the value is read: checking that it is UTF-8 and a JSON object (a scan
 * of its bytes, decode/json-scan.ts) is enough, without decoding it into a string and
 * a tree of objects only to drop them. Undefined means: take the general path.
 */
function spliceJson(r: SinkRecord, value: Buffer, collection: string, opts: MapOptions): Action | undefined {
  // A valid object ends with `}` and, after it, ASCII whitespace only; a UTF-8 BOM (which
  // the decoder drops from the text) is left out of the document.
  const start = value[0] === 0xef && value[1] === 0xbb && value[2] === 0xbf ? 3 : 0;
  let doc: Record<string, unknown> = {};
  if (opts.documents.eventTime === 'field') {
    const parsed = parseJsonText(decodeJsonText(value));
    if (!isPlainObject(parsed) || Object.hasOwn(parsed, '_id') || Object.hasOwn(parsed, '_event_time')) return undefined;
    let empty = true;
    for (const _ in parsed) {
      empty = false;
      break;
    }
    if (empty) return undefined;
    doc = parsed;
  } else {
    // not UTF-8 (or not such an object): the general path decodes it and names the problem
    if (!isUtf8(value) || !isSpliceableObject(value, start)) return undefined;
  }
  const id = documentId(r, doc, opts);
  const eventTime = eventTimeOf(r, doc, opts);
  const tail = `,"_id":${JSON.stringify(id)}${eventTime === undefined ? '' : `,"_event_time":${JSON.stringify(eventTime)}`}}`;
  const head = value.subarray(start, value.lastIndexOf(0x7d));
  const json = { head, tail };
  const bytes = head.length + Buffer.byteLength(tail);
  return { kind: 'upsert', offset: r.offset, collection, id, json, bytes };
}

/** A value or key too deep to handle (checked, or found by running out of stack while walking it), as that error. */
function asNestingTooDeep(err: unknown, what: string): NestingTooDeep | undefined {
  if (err instanceof NestingTooDeep) return err;
  return isStackOverflow(err) ? new NestingTooDeep(what) : undefined;
}

export function mapRecord(r: SinkRecord, opts: MapOptions): Action {
  const collection = opts.collectionFor(r.topic);
  if (r.value === null) {
    if (opts.documents.tombstones === 'ignore') return { kind: 'skip', offset: r.offset, reason: 'tombstone' };
    // With coordinates as _id no document is named by the key, so there is nothing a tombstone could delete.
    let id: string | undefined;
    try {
      id = opts.documents.idSource === 'coordinates' ? undefined : idFromKey(r, opts);
    } catch (err) {
      // keyId's DecodeErrors already say "key: "
      if (err instanceof DecodeError) return { kind: 'bad', offset: r.offset, stage: 'decode', errorClass: err.name, message: err.message };
      const deep = asNestingTooDeep(err, 'the key');
      if (deep) return { kind: 'bad', offset: r.offset, stage: 'map', errorClass: deep.name, message: deep.message };
      throw err;
    }
    if (id === undefined) return { kind: 'skip', offset: r.offset, reason: opts.documents.idSource === 'coordinates' ? 'tombstone-with-coordinate-ids' : 'tombstone-without-key' };
    const json = JSON.stringify({ _id: id });
    return { kind: 'delete', offset: r.offset, collection, id, json, bytes: Buffer.byteLength(json) };
  }
  try {
    if (!opts.decode) {
      // JSON text nests as deep as the document written from it (a one-object array: one level less)
      if (jsonNestsTooDeep(r.value)) throw new NestingTooDeep();
      const spliced = spliceJson(r, r.value, collection, opts);
      if (spliced) return spliced;
    }
    const decoded = opts.decode ? opts.decode(r.value, r) : parseJsonText(decodeJsonText(r.value));
    const doc = asDocument(decoded);
    const id = documentId(r, doc, opts);
    const out: Record<string, unknown> = { ...doc, _id: id };
    const eventTime = eventTimeOf(r, doc, opts);
    if (eventTime !== undefined) out._event_time = eventTime;
    const json = JSON.stringify(out);
    if (opts.decode && jsonNestsTooDeep(json)) throw new NestingTooDeep();
    return { kind: 'upsert', offset: r.offset, collection, id, json, bytes: Buffer.byteLength(json) };
  } catch (err) {
    if (err instanceof DecodeError || err instanceof MappingError) {
      return { kind: 'bad', offset: r.offset, stage: err instanceof DecodeError ? 'decode' : 'map', errorClass: err.name, message: err.message };
    }
    const deep = asNestingTooDeep(err, 'the value');
    if (deep) return { kind: 'bad', offset: r.offset, stage: 'map', errorClass: deep.name, message: deep.message };
    throw err;
  }
}
