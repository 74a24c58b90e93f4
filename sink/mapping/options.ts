// How a sink's records are decoded and routed, from its configuration alone, so the
// main thread and every mapping worker build the same MapOptions from the same
// (cloneable) SinkConfig.
import { PLAIN_KEY_FORMATS, type SinkConfig } from '../config/schema.ts';
import type { MapOptions } from '../map.ts';
import type { SinkRecord } from '../record.ts';
import { canonicalKey, numberKeyId } from '../decode/key.ts';
import { DecodeError, decodeJsonValue } from '../decode/json.ts';
import type { SchemaDecoders, NumberKeyFormat, ValueFormat } from '../decode/schemas.ts';

const PLAIN_KEYS = new Set(PLAIN_KEY_FORMATS);
const isNumberKey = (format: string): format is NumberKeyFormat => format === 'long' || format === 'integer' || format === 'short';

export function collectionRouter(config: SinkConfig): (topic: string) => string {
  const { topicCollections, collection } = config.rockset;
  return (topic) => topicCollections[topic] ?? collection ?? topic;
}

/** Whether values or keys are read through the schema registry (framed Avro, Protobuf, JSON Schema). */
export function usesSchemas(config: SinkConfig): boolean {
  const { value, key } = config.format;
  return config.schemaRegistry !== undefined && !(value === 'json' && PLAIN_KEYS.has(key));
}

/** The buffers whose writer schemas a batch needs. */
export function framedBuffers(config: SinkConfig, records: readonly SinkRecord[]): (Buffer | null)[] {
  const { value, key } = config.format;
  const out: (Buffer | null)[] = [];
  for (const r of records) {
    if (value !== 'json') out.push(r.value);
    if (!PLAIN_KEYS.has(key)) out.push(r.key);
  }
  return out;
}

/** Plain JSON and UTF-8 keys, or decoding through the schemas a thread has learnt. */
export function mapOptions(config: SinkConfig, schemas: SchemaDecoders | undefined): MapOptions {
  const options: MapOptions = { documents: config.documents, collectionFor: collectionRouter(config) };
  const { value, key } = config.format;
  // validateConfig guarantees a registry for every format but the plain ones (PLAIN_KEY_FORMATS, json values)
  const decode = (buf: Buffer, format: ValueFormat) => (schemas ? schemas.decode(buf, format) : decodeJsonValue(buf));
  if (value !== 'json') options.decode = (buf) => decode(buf, value);
  if (isNumberKey(key)) {
    options.keyId = (buf) => {
      try {
        return numberKeyId(buf, key);
      } catch (err) {
        if (err instanceof DecodeError) throw new DecodeError(`key: ${err.message}`);
        throw err;
      }
    };
  } else if (key !== 'string') {
    options.keyId = (buf) => {
      try {
        return canonicalKey(decode(buf, key));
      } catch (err) {
        if (err instanceof DecodeError) throw new DecodeError(`key: ${err.message}`);
        throw err;
      }
    };
  }
  return options;
}
