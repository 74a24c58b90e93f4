// Writer schemas of Confluent-framed values and keys (magic byte 0, a 4-byte schema
// id, then the payload), fetched from a Confluent-compatible Schema Registry through
// @kafkajs/confluent-schema-registry's API client, once per id. Compiling and
// decoding happen where records are mapped (sink/decode/schemas.ts): fetching is
// async and happens once per batch (prepare), on the main thread, which owns the
// registry's credentials.
//
// A registry that cannot be reached is not bad data: prepare() throws
// RegistryUnavailable and the pipeline waits and retries without committing or
// dead-lettering anything; only an id the registry does not know, or bytes that do
// not decode, make a bad record.
// The library's REST client (mappersmith, with its auth and error middleware): the
// compiled schemas of its SchemaRegistry class use its own Avro/Protobuf options,
// while the sink needs the writer schema's text to map values exactly.
import apiModule from '@kafkajs/confluent-schema-registry/dist/api/index.js';
import type { SchemaRegistryAPIClient, SchemaRegistryAPIClientArgs } from '@kafkajs/confluent-schema-registry/dist/api/index.js';
import { FORMAT_OF, schemaIds, type RegistryType, type SchemaInfo } from './schemas.ts';

export { framedSchemaId } from './schemas.ts';

export class RegistryUnavailable extends Error {
  override name = 'RegistryUnavailable';
}

export interface RegistryOptions {
  url: string;
  username?: string;
  password?: string;
  requestTimeoutMs: number;
}

type CreateApi = (args: SchemaRegistryAPIClientArgs) => SchemaRegistryAPIClient;
// CommonJS with __esModule: under Node's ESM the factory arrives as .default of the default import.
const createApi: CreateApi = (apiModule as unknown as { default: CreateApi }).default ?? (apiModule as unknown as CreateApi);

export class SchemaRegistrySource {
  readonly #client: SchemaRegistryAPIClient;
  readonly #timeoutMs: number;
  /** Schemas (or why one cannot be used): kept, since an id's schema never changes. An id the registry does not know is asked for again with the next batch. */
  readonly #settled = new Map<number, SchemaInfo>();

  constructor(opts: RegistryOptions) {
    const auth = opts.username ? { username: opts.username, password: opts.password ?? '' } : undefined;
    // No library retries: the pipeline retries, heartbeating the group meanwhile.
    this.#client = createApi({ host: opts.url, auth, retry: { retries: 0 }, clientId: 'rockset-sink' });
    this.#timeoutMs = opts.requestTimeoutMs;
  }

  /** Fetches the writer schemas the buffers need. Throws RegistryUnavailable when the registry cannot answer. */
  async prepare(buffers: Iterable<Buffer | null>): Promise<void> {
    await Promise.all([...schemaIds(buffers)].filter((id) => !this.#settled.has(id)).map((id) => this.#fetch(id)));
  }

  /** What the last prepare learnt of an id it named (unknown: the registry answered 404). */
  info(id: number): SchemaInfo {
    return this.#settled.get(id) ?? { unknown: true };
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
        this.#settled.set(id, { unusable: `schema id ${id} is of type ${data.schemaType}, which the sink cannot decode (it reads AVRO, PROTOBUF and JSON)` });
        return;
      }
      this.#settled.set(id, { type, schema: data.schema });
    } catch (err) {
      if (err instanceof RegistryUnavailable) throw err;
      const status = (err as { status?: number }).status;
      if (status === 404) return;
      // mappersmith reports connection failures as status 400 without a body: all of these are outages
      throw new RegistryUnavailable(`schema registry request for id ${id} failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
