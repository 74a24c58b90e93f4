// Writer schemas compiled into decoders, and Confluent-framed buffers decoded with
// them. One instance per thread that maps records: the main thread when mapping runs
// inline, else each mapping worker (sink/mapping/), which gets the schema texts the
// main thread fetched (sink/decode/registry.ts) with the batches that need them, and
// compiles each once. Sync and free of I/O, so a batch maps without waiting.
import { DecodeError, decodeJsonValue } from './json.ts';
import { NestingTooDeep, isStackOverflow } from './depth.ts';
import { compileAvroDecoder } from './avro.ts';
import { compileProtobufDecoder } from './protobuf.ts';
import { compileJsonSchemaDecoder } from './jsonschema.ts';

export type ValueFormat = 'json' | 'avro' | 'protobuf' | 'jsonschema' | 'auto';
export type KeyFormat = ValueFormat | 'string' | NumberKeyFormat;
export type NumberKeyFormat = 'long' | 'integer' | 'short';

export type RegistryType = 'AVRO' | 'PROTOBUF' | 'JSON';
export const FORMAT_OF: Record<RegistryType, ValueFormat> = { AVRO: 'avro', PROTOBUF: 'protobuf', JSON: 'jsonschema' };

/**
 * What the registry said of a schema id: its writer schema, why the sink cannot use
 * it (kept: an id's schema never changes), or that it does not know the id (asked
 * again for the next batch).
 */
export type SchemaInfo = { type: RegistryType; schema: string } | { unusable: string } | { unknown: true };

/** The schema id of a Confluent-framed buffer, or undefined for anything else (plain JSON never starts with byte 0). */
export function framedSchemaId(buf: Uint8Array): number | undefined {
  return buf.length >= 5 && buf[0] === 0 ? ((buf[1]! << 24) >>> 0) + (buf[2]! << 16) + (buf[3]! << 8) + buf[4]! : undefined;
}

/** The schema ids the framed buffers among these name. */
export function schemaIds(buffers: Iterable<Uint8Array | null>): Set<number> {
  const ids = new Set<number>();
  for (const b of buffers) {
    const id = b ? framedSchemaId(b) : undefined;
    if (id !== undefined) ids.add(id);
  }
  return ids;
}

interface Compiled {
  type: RegistryType;
  decode(payload: Buffer): unknown;
}

export class SchemaDecoders {
  readonly #compiled = new Map<number, Compiled>();
  readonly #unusable = new Map<number, string>();
  #unknown = new Set<number>();

  /** Whether `learn` has settled this id for good (compiled, or unusable). */
  knows(id: number): boolean {
    return this.#compiled.has(id) || this.#unusable.has(id);
  }

  /** Ids unknown to the registry are bad records for the batch at hand only: each batch starts afresh. */
  startBatch(): void {
    this.#unknown = new Set();
  }

  learn(id: number, info: SchemaInfo): void {
    if ('unknown' in info) {
      this.#unknown.add(id);
    } else if ('unusable' in info) {
      this.#unusable.set(id, info.unusable);
    } else if (!this.#compiled.has(id)) {
      try {
        this.#compiled.set(id, { type: info.type, decode: compile(info.type, info.schema) });
      } catch (err) {
        this.#unusable.set(id, `schema id ${id} cannot be compiled: ${(err as Error).message}`);
      }
    }
  }

  /** Decodes one buffer (its schema learnt). Throws DecodeError for a bad record. */
  decode(buf: Buffer, format: ValueFormat): unknown {
    const id = framedSchemaId(buf);
    if (format === 'json' || (format === 'auto' && id === undefined)) return decodeJsonValue(buf);
    if (id === undefined) {
      throw new DecodeError(`the bytes are not Confluent-framed ${format} (first byte ${buf.length ? buf[0] : 'none'}, expected magic byte 0 and a schema id); check the producer's serializer or the configured format`);
    }
    const compiled = this.#compiled.get(id);
    if (!compiled) {
      const why = this.#unusable.get(id);
      if (why !== undefined) throw new DecodeError(why);
      throw new DecodeError(this.#unknown.has(id) ? `schema id ${id} is unknown to the schema registry` : `schema id ${id} was not fetched`);
    }
    if (format !== 'auto' && FORMAT_OF[compiled.type] !== format) {
      throw new DecodeError(`schema id ${id} is a ${FORMAT_OF[compiled.type]} schema, but the configured format is ${format}`);
    }
    try {
      return compiled.decode(buf.subarray(5));
    } catch (err) {
      if (err instanceof NestingTooDeep) throw err;
      if (isStackOverflow(err)) throw new NestingTooDeep();
      throw new DecodeError(`${FORMAT_OF[compiled.type]} payload with schema id ${id} does not decode: ${(err as Error).message}`);
    }
  }
}

function compile(type: RegistryType, schema: string): (payload: Buffer) => unknown {
  if (type === 'AVRO') return compileAvroDecoder(schema);
  if (type === 'PROTOBUF') return compileProtobufDecoder(schema);
  return compileJsonSchemaDecoder(schema);
}
