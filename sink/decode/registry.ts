// Values and keys framed by a Confluent-compatible Schema Registry: magic byte 0,
// a 4-byte schema id, then the payload. Writer schemas are fetched once per id
// through @kafkajs/confluent-schema-registry's API client and compiled into
// decoders (Avro, Protobuf, JSON Schema) that map straight to Rockset documents.
//
// Fetching is async and happens once per batch (prepare); decoding is then sync
// and pure. A registry that cannot be reached is not bad data: prepare() throws
// RegistryUnavailable and the pipeline waits and retries without committing or
// dead-lettering anything; only an id the registry does not know, or bytes that
// do not decode, make a bad record.
// The library's REST client (mappersmith, with its auth and error middleware): the
// compiled schemas of its SchemaRegistry class use its own Avro/Protobuf options,
// while the sink needs the writer schema's text to map values exactly.
import apiModule from '@kafkajs/confluent-schema-registry/dist/api/index.js';
import type { SchemaRegistryAPIClient, SchemaRegistryAPIClientArgs } from '@kafkajs/confluent-schema-registry/dist/api/index.js';
import { DecodeError, decodeJsonValue } from './json.ts';
import { NestingTooDeep, isStackOverflow } from './depth.ts';
import { compileAvroDecoder } from './avro.ts';
import { compileProtobufDecoder } from './protobuf.ts';
import { compileJsonSchemaDecoder } from './jsonschema.ts';

export type ValueFormat = 'json' | 'avro' | 'protobuf' | 'jsonschema' | 'auto';
export type KeyFormat = ValueFormat | 'string';

type RegistryType = 'AVRO' | 'PROTOBUF' | 'JSON';
const FORMAT_OF: Record<RegistryType, ValueFormat> = { AVRO: 'avro', PROTOBUF: 'protobuf', JSON: 'jsonschema' };

export class RegistryUnavailable extends Error {
  override name = 'RegistryUnavailable';
}

interface Compiled {
  type: RegistryType;
  decode(payload: Buffer): unknown;
}

export interface RegistryOptions {
  url: string;
  username?: string;
  password?: string;
  requestTimeoutMs: number;
}

/** The schema id of a Confluent-framed buffer, or undefined for anything else (plain JSON never starts with byte 0). */
export function framedSchemaId(buf: Buffer): number | undefined {
  return buf.length >= 5 && buf[0] === 0 ? buf.readUInt32BE(1) : undefined;
}

type CreateApi = (args: SchemaRegistryAPIClientArgs) => SchemaRegistryAPIClient;
// CommonJS with __esModule: under Node's ESM the factory arrives as .default of the default import.
const createApi: CreateApi = (apiModule as unknown as { default: CreateApi }).default ?? (apiModule as unknown as CreateApi);

export class RegistryDecoder {
  readonly #client: SchemaRegistryAPIClient;
  readonly #timeoutMs: number;
  readonly #compiled = new Map<number, Compiled>();
  /** Why a schema the registry returned cannot be compiled; kept, since an id's schema never changes. */
  readonly #uncompilable = new Map<number, string>();
  /** Ids the registry answered 404 for in this batch: bad records, but asked again next batch. */
  #unknown = new Set<number>();

  constructor(opts: RegistryOptions) {
    const auth = opts.username ? { username: opts.username, password: opts.password ?? '' } : undefined;
    // No library retries: the pipeline retries, heartbeating the group meanwhile.
    this.#client = createApi({ host: opts.url, auth, retry: { retries: 0 }, clientId: 'rockset-sink' });
    this.#timeoutMs = opts.requestTimeoutMs;
  }

  /** Fetches the writer schemas the buffers need. Throws RegistryUnavailable when the registry cannot answer. */
  async prepare(buffers: Iterable<Buffer | null>): Promise<void> {
    this.#unknown = new Set();
    const missing = new Set<number>();
    for (const b of buffers) {
      const id = b ? framedSchemaId(b) : undefined;
      if (id !== undefined && !this.#compiled.has(id) && !this.#uncompilable.has(id)) missing.add(id);
    }
    await Promise.all([...missing].map((id) => this.#fetch(id)));
  }

  async #fetch(id: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const response = await Promise.race([
        this.#client.Schema.find({ id }) as Promise<{ data(): unknown }>,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new RegistryUnavailable(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
        }),
      ]);
      const data = response.data() as { schema?: string; schemaType?: string };
      const type = (data.schemaType ?? 'AVRO').toUpperCase() as RegistryType;
      if (!(type in FORMAT_OF) || typeof data.schema !== 'string') {
        this.#uncompilable.set(id, `schema id ${id} is of type ${data.schemaType}, which the sink cannot decode (it reads AVRO, PROTOBUF and JSON)`);
        return;
      }
      this.#compiled.set(id, { type, decode: compile(type, data.schema, id) });
    } catch (err) {
      if (err instanceof RegistryUnavailable) throw err;
      if (err instanceof DecodeError) {
        this.#uncompilable.set(id, err.message); // a schema we cannot compile: its records are bad, not the registry
        return;
      }
      const status = (err as { status?: number }).status;
      if (status === 404) {
        this.#unknown.add(id);
        return;
      }
      // mappersmith reports connection failures as status 400 without a body: all of these are outages
      throw new RegistryUnavailable(`schema registry request for id ${id} failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Decodes one buffer (after prepare). Throws DecodeError for a bad record. */
  decode(buf: Buffer, format: ValueFormat): unknown {
    const id = framedSchemaId(buf);
    if (format === 'json' || (format === 'auto' && id === undefined)) return decodeJsonValue(buf);
    if (id === undefined) {
      throw new DecodeError(`the bytes are not Confluent-framed ${format} (first byte ${buf.length ? buf[0] : 'none'}, expected magic byte 0 and a schema id); check the producer's serializer or the configured format`);
    }
    const compiled = this.#compiled.get(id);
    if (!compiled) {
      const why = this.#uncompilable.get(id);
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

function compile(type: RegistryType, schema: string, id: number): (payload: Buffer) => unknown {
  try {
    if (type === 'AVRO') return compileAvroDecoder(schema);
    if (type === 'PROTOBUF') return compileProtobufDecoder(schema);
    return compileJsonSchemaDecoder(schema);
  } catch (err) {
    throw new DecodeError(`schema id ${id} cannot be compiled: ${(err as Error).message}`);
  }
}
