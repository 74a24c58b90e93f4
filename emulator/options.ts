// Emulator options and the command line that maps onto them.
import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultConfigInput, type FaultKind } from './faults.ts';
import type { Store, StoreMode } from './store.ts';

export interface EmulatorOptions {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** TCP port; 0 (the default for startEmulator) picks a free one. */
  port?: number;
  /** The one API key accepted for writes. Required. */
  apiKey: string;
  /** Keys that authenticate but may not write: their writes get 403 FORBIDDEN. */
  forbiddenApiKeys?: string[];
  /** Collections that exist from the start, as "workspace.collection" or objects. */
  collections?: Array<string | { workspace: string; collection: string }>;
  /** Create unknown collections on their first valid write instead of answering 404. */
  autoCreate?: boolean;
  /** Request body limit in bytes (413 past it); default 10 MiB. */
  maxBodyBytes?: number;
  /** Documents per request (400 past it); default 20,000. */
  maxDocuments?: number;
  /** Write requests per second (token bucket); 0 or absent disables rate limiting. */
  rateLimit?: number;
  /** Bucket size; default max(1, rateLimit). */
  rateBurst?: number;
  /** Retry-After (seconds) on rate-limit 429s; absent sends none, as Rockset did. */
  retryAfterSeconds?: number;
  /** Initial fault injection (partial; the rest takes defaults). */
  faults?: FaultConfigInput;
  /** Seed of the fault RNG; random when absent. */
  seed?: number;
  /** Entries kept by the write request log (ring buffer); default 10,000. */
  requestLogSize?: number;
  /** `full` (default) keeps documents; `ids` keeps only their `_id`s, for long benchmarks. */
  storeMode?: StoreMode;
  /**
   * The documents to serve (in-process only): pass a closed emulator's `store` to
   * restart it, e.g. on the same port after an outage, with the collections it had,
   * as Rockset's collections outlive a network outage. `storeMode` then follows it.
   */
  store?: Store;
  /** Serve HTTPS with this PEM key and certificate (in-process only), e.g. to test how clients meet a certificate they do not trust. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export const DEFAULTS = {
  host: '127.0.0.1',
  cliPort: 3010,
  maxBodyBytes: 10 * 1024 * 1024,
  maxDocuments: 20_000,
  requestLogSize: 10_000,
} as const;

export const USAGE = `Usage: npm run emulator -- [options]

Rockset Write API emulator (POST/DELETE/PATCH /v1/orgs/self/ws/{ws}/collections/{coll}/docs).

  --port N                  port to listen on (default ${DEFAULTS.cliPort}; 0 = any free port)
  --host H                  interface to bind (default ${DEFAULTS.host})
  --api-key KEY             accepted API key (or env ROCKSET_EMULATOR_API_KEY)
  --forbidden-api-key KEY   a key that authenticates but gets 403 on writes (repeatable)
  --collection WS.NAME      a collection that exists at start (repeatable)
  --auto-create             create unknown collections on first write instead of 404
  --max-body-bytes N        request body limit (default ${DEFAULTS.maxBodyBytes})
  --max-documents N         documents per request limit (default ${DEFAULTS.maxDocuments})
  --rate-limit N            write requests per second, 429 past it (default: unlimited)
  --rate-burst N            token bucket size (default: max(1, rate limit))
  --retry-after S           send Retry-After: S on rate-limit 429s (default: none)
  --latency-ms N            added latency per write request
  --jitter-ms N             extra random latency in [0, N]
  --fault-429 P             probability 0..1 of an injected 429 (likewise --fault-500,
                            --fault-502, --fault-503, --fault-drop-before,
                            --fault-drop-after, --fault-stall, --fault-malformed-200,
                            --fault-oversized-200)
  --fault-retry-after S     Retry-After on injected 429s (default 1; "none" for no header)
  --stall-ms N              how long a stalled request is held (default 30000)
  --stall-apply             apply the write when a stall ends (default: drop it unapplied)
  --oversized-bytes N       body size of an oversized-200 answer (default 67108864)
  --seed N                  seed of the fault RNG
  --request-log-size N      entries kept by GET /_emulator/requests (default ${DEFAULTS.requestLogSize})
  --store full|ids          keep whole documents (default) or only their _ids (long benchmarks)
  -h, --help                this text
`;

export class UsageError extends Error {}

function num(value: string | undefined, flag: string, { integer = false, max = Infinity } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${flag} expects a ${integer ? 'non-negative integer' : 'non-negative number'}${max !== Infinity ? ` <= ${max}` : ''}, got "${value}"`);
  }
  return n;
}

export function parseCollectionName(spec: string): { workspace: string; collection: string } {
  const dot = spec.indexOf('.');
  const workspace = spec.slice(0, dot);
  const collection = spec.slice(dot + 1);
  if (dot <= 0 || collection === '') throw new UsageError(`collection "${spec}" must be written workspace.collection`);
  return { workspace, collection };
}

/** Parses argv (without node and script) into options; `help` means print USAGE and exit. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): { help: true } | { help: false; options: EmulatorOptions } {
  const faultFlags = Object.fromEntries(FAULT_KINDS.map((k) => [`fault-${k}`, { type: 'string' as const }]));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'api-key': { type: 'string' },
        'forbidden-api-key': { type: 'string', multiple: true },
        collection: { type: 'string', multiple: true },
        'auto-create': { type: 'boolean' },
        'max-body-bytes': { type: 'string' },
        'max-documents': { type: 'string' },
        'rate-limit': { type: 'string' },
        'rate-burst': { type: 'string' },
        'retry-after': { type: 'string' },
        'latency-ms': { type: 'string' },
        'jitter-ms': { type: 'string' },
        'fault-retry-after': { type: 'string' },
        'stall-ms': { type: 'string' },
        'stall-apply': { type: 'boolean' },
        'oversized-bytes': { type: 'string' },
        seed: { type: 'string' },
        'request-log-size': { type: 'string' },
        store: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...faultFlags,
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values as Record<string, string | string[] | boolean | undefined>;
  const str = (k: string) => v[k] as string | undefined;
  if (v['help']) return { help: true };

  const apiKey = str('api-key') ?? env['ROCKSET_EMULATOR_API_KEY'];
  if (!apiKey) throw new UsageError('an API key is required: --api-key KEY or ROCKSET_EMULATOR_API_KEY');

  const probabilities: Partial<Record<FaultKind, number>> = {};
  for (const kind of FAULT_KINDS) {
    const p = num(str(`fault-${kind}`), `fault-${kind}`, { max: 1 });
    if (p !== undefined) probabilities[kind] = p;
  }
  const faults: FaultConfigInput = {};
  if (Object.keys(probabilities).length > 0) faults.probabilities = probabilities;
  const latencyMs = num(str('latency-ms'), 'latency-ms');
  if (latencyMs !== undefined) faults.latencyMs = latencyMs;
  const jitterMs = num(str('jitter-ms'), 'jitter-ms');
  if (jitterMs !== undefined) faults.jitterMs = jitterMs;
  const stallMs = num(str('stall-ms'), 'stall-ms');
  if (stallMs !== undefined) faults.stallMs = stallMs;
  if (v['stall-apply']) faults.stallApply = true;
  const oversizedBytes = num(str('oversized-bytes'), 'oversized-bytes', { integer: true });
  if (oversizedBytes !== undefined) faults.oversizedBytes = oversizedBytes;
  const fra = str('fault-retry-after');
  if (fra !== undefined) faults.retryAfterSeconds = fra === 'none' ? null : (num(fra, 'fault-retry-after', { integer: true }) as number);

  const store = str('store') ?? 'full';
  if (store !== 'full' && store !== 'ids') throw new UsageError(`--store expects full or ids, got "${store}"`);

  const options: EmulatorOptions = {
    storeMode: store,
    host: str('host') ?? DEFAULTS.host,
    port: num(str('port'), 'port', { integer: true, max: 65535 }) ?? DEFAULTS.cliPort,
    apiKey,
    forbiddenApiKeys: (v['forbidden-api-key'] as string[] | undefined) ?? [],
    collections: ((v['collection'] as string[] | undefined) ?? []).map(parseCollectionName),
    autoCreate: v['auto-create'] === true,
    faults,
  };
  const setNum = (key: keyof EmulatorOptions, flag: string, integer: boolean) => {
    const n = num(str(flag), flag, { integer });
    if (n !== undefined) (options as unknown as Record<string, number>)[key] = n;
  };
  setNum('maxBodyBytes', 'max-body-bytes', true);
  setNum('maxDocuments', 'max-documents', true);
  setNum('rateLimit', 'rate-limit', false);
  setNum('rateBurst', 'rate-burst', false);
  setNum('retryAfterSeconds', 'retry-after', true);
  setNum('seed', 'seed', true);
  setNum('requestLogSize', 'request-log-size', true);
  return { help: false, options };
}
