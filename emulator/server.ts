// HTTP front of the emulator: the Write API routes, auth, limits, rate limiting,
// fault injection and the unauthenticated /_emulator admin routes.
//
// Order of checks on a write request (each one answers before the next runs):
//   auth (401) -> method (405) -> forbidden key (403) -> rate limit (429)
//   -> content type/encoding (415) -> Content-Length (413) -> body read (413)
//   -> fault decision (latency, scripted/probabilistic faults)
//   -> JSON (400) -> shape and document limit (400) -> collection (404)
//   -> apply -> answer.
// Faults are decided only for requests that got through the gateway-like checks,
// so that a scripted step is never eaten by a 401 or a rate-limited request.
import http from 'node:http';
import https from 'node:https';
import { randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { BAD_GATEWAY_BODY, errors, HttpError, errorModel } from './errors.ts';
import { defaultFaultConfig, FaultConfigError, FaultInjector, parseFaultConfig, seededRandom, TokenBucket, type FaultConfig, type FaultDecision, type FaultKind } from './faults.ts';
import { parseExactUtf8 } from './json.ts';
import { DEFAULTS, parseCollectionName, type EmulatorOptions } from './options.ts';
import { addDocuments, deleteDocuments, patchDocuments, Store, type Collection, type DocResult, type DocStatus, type StoreMode } from './store.ts';
import { EmulatorAdmin } from './client.ts';

export type { EmulatorOptions } from './options.ts';

export interface Emulator {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Typed client of the /_emulator admin routes of this instance. */
  readonly admin: EmulatorAdmin;
  /** The collections and documents; hand it to startEmulator({ store }) to restart with them. */
  readonly store: Store;
  close(): Promise<void>;
}

export interface RequestLogEntry {
  /** 1-based, increasing over the emulator's life (not reset by /_emulator/reset). */
  seq: number;
  time: string;
  method: string;
  workspace: string;
  collection: string;
  /** Entries in `data`, or null when the body was never parsed. */
  documents: number | null;
  /** `_id` per entry in request order (generated ones included; null where the entry had none usable). */
  ids: Array<string | null>;
  /** HTTP status sent, or null when the connection was dropped without an answer. */
  status: number | null;
  /** Whether the write reached the store. */
  applied: boolean;
  /** When it reached the store (documents visible from then on), or null. */
  appliedAt: string | null;
  fault: FaultKind | null;
}

export interface EmulatorStats {
  requests: { total: number; byStatus: Record<string, number>; byMethod: Record<string, number> };
  faults: Record<FaultKind | 'latency', number>;
  rateLimited: number;
  documents: Record<DocStatus, number>;
}

const DOCS_PATH = /^\/v1\/orgs\/self\/ws\/([^/]+)\/collections\/([^/]+)\/docs\/?$/;
const WRITE_METHODS = new Set(['POST', 'DELETE', 'PATCH']);
const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } as const;
const NO_FAULT: FaultDecision = { kind: 'none', delayMs: 0, stallMs: 0, stallApply: false, retryAfterSeconds: null, scripted: false };

function emptyStats(): EmulatorStats {
  return {
    requests: { total: 0, byStatus: {}, byMethod: {} },
    faults: { '429': 0, '500': 0, '502': 0, '503': 0, 'drop-before': 0, 'drop-after': 0, stall: 0, 'malformed-200': 0, 'oversized-200': 0, latency: 0 },
    rateLimited: 0,
    documents: { ADDED: 0, REPLACED: 0, DELETED: 0, PATCHED: 0, ERROR: 0 },
  };
}

class RingBuffer<T> {
  private readonly items: T[] = [];
  private start = 0;
  readonly capacity: number;
  constructor(capacity: number) {
    this.capacity = capacity;
  }
  push(item: T): void {
    if (this.capacity === 0) return;
    if (this.items.length < this.capacity) this.items.push(item);
    else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }
  toArray(): T[] {
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }
  clear(): void {
    this.items.length = 0;
    this.start = 0;
  }
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function keyEquals(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res: http.ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...JSON_HEADERS, ...extra, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** A 200 whose `data` has one entry per document, none of them a result object. */
function malformedResults(documents: number): string {
  const junk = ['null', '0', '"ADDED"', '[]'];
  return `{"data":[${Array.from({ length: documents }, (_, i) => junk[i % junk.length]).join(',')}]}`;
}

/**
 * The real answer, padded with a string field to `total` bytes and streamed (never
 * held whole), stopping as soon as the client goes away.
 */
async function sendPadded(res: http.ServerResponse, body: string, total: number): Promise<void> {
  const head = `${body.slice(0, -1)},"padding":"`;
  const tail = '"}';
  let padding = Math.max(0, total - Buffer.byteLength(head) - tail.length);
  res.writeHead(200, { ...JSON_HEADERS, 'Content-Length': Buffer.byteLength(head) + padding + tail.length });
  res.write(head);
  const chunk = Buffer.alloc(64 * 1024, 'x');
  while (padding > 0 && !res.destroyed) {
    const n = Math.min(padding, chunk.length);
    padding -= n;
    if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end(tail);
}

function sendError(res: http.ServerResponse, err: HttpError, close = false): void {
  send(res, err.status, JSON.stringify(err.model), close ? { ...err.headers, Connection: 'close' } : err.headers);
}

function serializeResults(collection: string, results: DocResult[], offset: string): string {
  const c = JSON.stringify(collection);
  let s = '{"data":[';
  for (let i = 0; i < results.length; i++) {
    const r = results[i] as DocResult;
    if (i > 0) s += ',';
    s += `{"_collection":${c},"error":${r.error === null ? 'null' : JSON.stringify(r.error)},"_id":${r.id === null ? 'null' : JSON.stringify(r.id)},"status":"${r.status}","patch_id":${r.patchId === null ? 'null' : `"${r.patchId}"`}}`;
  }
  return `${s}],"last_offset":${JSON.stringify(offset)}}`;
}

/** `_id` of each entry as sent (null where it has none usable). */
function idsOf(data: unknown[]): Array<string | null> {
  return data.map((d) => {
    const id = typeof d === 'object' && d !== null ? (d as Record<string, unknown>)['_id'] : undefined;
    return typeof id === 'string' ? id : null;
  });
}

/** Best effort: fills the log entry's document count and ids from a body that will not be applied. */
function describeBody(raw: Buffer, entry: RequestLogEntry): void {
  try {
    const body = parseExactUtf8(raw) as { data?: unknown } | null;
    if (body !== null && typeof body === 'object' && Array.isArray(body.data)) {
      entry.documents = body.data.length;
      entry.ids = idsOf(body.data);
    }
  } catch {
    // Not JSON: nothing to record.
  }
}

type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' | 'aborted' };

/** Reads the body, counting bytes as they stream in; past the limit the rest is discarded, never buffered. */
function readBody(req: http.IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    let done = false;
    const finish = (r: BodyResult) => {
      if (!done) {
        done = true;
        resolve(r);
      }
    };
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        finish({ ok: false, reason: 'too-large' });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => finish(over ? { ok: false, reason: 'too-large' } : { ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) }));
    req.on('error', () => finish({ ok: false, reason: 'aborted' }));
    req.on('close', () => finish({ ok: false, reason: 'aborted' }));
  });
}

class EmulatorServer {
  readonly store: Store;
  private readonly storeMode: StoreMode;
  private readonly apiKey: Buffer;
  private readonly forbiddenKeys: Buffer[];
  private readonly autoCreate: boolean;
  private readonly maxBodyBytes: number;
  private readonly maxDocuments: number;
  private readonly rateLimit: number;
  private readonly rateBurst: number | undefined;
  private readonly rateRetryAfter: number | undefined;
  private readonly initialFaults: FaultConfig;
  private readonly seed: number;
  private bucket: TokenBucket | undefined;
  private faults: FaultInjector;
  private stats = emptyStats();
  private readonly log: RingBuffer<RequestLogEntry>;
  private seq = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closing = false;

  constructor(opts: EmulatorOptions) {
    if (typeof opts.apiKey !== 'string' || opts.apiKey === '') throw new Error('rockset emulator: apiKey is required');
    this.apiKey = Buffer.from(opts.apiKey);
    this.storeMode = opts.store?.mode ?? opts.storeMode ?? 'full';
    if (this.storeMode !== 'full' && this.storeMode !== 'ids') throw new Error(`rockset emulator: unknown storeMode ${String(this.storeMode)}`);
    this.store = opts.store ?? new Store(this.storeMode);
    this.forbiddenKeys = (opts.forbiddenApiKeys ?? []).map((k) => Buffer.from(k));
    this.autoCreate = opts.autoCreate ?? false;
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULTS.maxBodyBytes;
    this.maxDocuments = opts.maxDocuments ?? DEFAULTS.maxDocuments;
    this.rateLimit = opts.rateLimit ?? 0;
    this.rateBurst = opts.rateBurst;
    this.rateRetryAfter = opts.retryAfterSeconds;
    this.bucket = this.rateLimit > 0 ? new TokenBucket(this.rateLimit, this.rateBurst ?? Math.max(1, this.rateLimit)) : undefined;
    this.initialFaults = parseFaultConfig(opts.faults ?? {});
    this.seed = opts.seed ?? randomInt(0, 2 ** 31);
    this.faults = new FaultInjector(parseFaultConfig({}, this.initialFaults), seededRandom(this.seed));
    this.log = new RingBuffer(opts.requestLogSize ?? DEFAULTS.requestLogSize);
    for (const c of opts.collections ?? []) {
      const { workspace, collection } = typeof c === 'string' ? parseCollectionName(c) : c;
      this.store.create(workspace, collection);
    }
  }

  handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    const work = path.startsWith('/_emulator/') ? this.admin(req, res, path, query) : this.api(req, res, path);
    work.catch((err: unknown) => {
      if (err instanceof HttpError) return sendError(res, err);
      if (!res.headersSent) return sendError(res, errors.internal());
      res.destroy();
    });
  };

  // ---- Write API -----------------------------------------------------------

  private authenticate(req: http.IncomingMessage): 'ok' | 'forbidden' {
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === '') throw errors.missingAuth();
    const m = /^\s*(\S+)\s+(.+?)\s*$/.exec(header);
    if (!m || (m[1] as string).toLowerCase() !== 'apikey') throw errors.badAuth();
    const key = Buffer.from(m[2] as string);
    if (keyEquals(key, this.apiKey)) return 'ok';
    if (this.forbiddenKeys.some((k) => keyEquals(key, k))) return 'forbidden';
    throw errors.badAuth();
  }

  private async api(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
    const m = DOCS_PATH.exec(path);
    const workspace = m ? safeDecode(m[1] as string) : undefined;
    const collectionName = m ? safeDecode(m[2] as string) : undefined;
    if (workspace === undefined || collectionName === undefined) {
      if (path.startsWith('/v1/')) this.authenticate(req);
      throw errors.routeNotFound(path);
    }
    const method = req.method ?? 'GET';
    const entry: RequestLogEntry = {
      seq: ++this.seq,
      time: new Date().toISOString(),
      method,
      workspace,
      collection: collectionName,
      documents: null,
      ids: [],
      status: null,
      applied: false,
      appliedAt: null,
      fault: null,
    };
    this.log.push(entry);
    this.stats.requests.total += 1;
    this.stats.requests.byMethod[method] = (this.stats.requests.byMethod[method] ?? 0) + 1;
    const respond = (status: number, body: string, headers?: Record<string, string>) => {
      entry.status = status;
      this.stats.requests.byStatus[status] = (this.stats.requests.byStatus[status] ?? 0) + 1;
      send(res, status, body, headers);
    };
    const fail = (err: HttpError, close = false) => respond(err.status, JSON.stringify(err.model), close ? { ...err.headers, Connection: 'close' } : err.headers);
    const drop = (kind: FaultKind) => {
      entry.fault = kind;
      this.stats.faults[kind] += 1;
      req.socket.destroy();
    };

    try {
      if (this.authenticate(req) === 'forbidden' && WRITE_METHODS.has(method)) throw errors.forbidden();
      if (!WRITE_METHODS.has(method)) throw errors.methodNotAllowed(method, 'POST, DELETE, PATCH');
      if (this.bucket && !this.bucket.take()) {
        this.stats.rateLimited += 1;
        const headers: Record<string, string> = this.rateRetryAfter !== undefined ? { 'Retry-After': String(this.rateRetryAfter) } : {};
        throw errors.rateLimited(this.rateLimit, headers);
      }
      const contentType = req.headers['content-type'];
      if (contentType === undefined || !/^application\/json\s*(;|$)/i.test(contentType)) {
        throw errors.unsupportedMediaType(`Content-Type must be application/json, got ${contentType === undefined ? 'none' : JSON.stringify(contentType)}`);
      }
      const encoding = req.headers['content-encoding'];
      if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
        throw errors.unsupportedMediaType(`Content-Encoding ${JSON.stringify(encoding)} is not supported`);
      }
    } catch (err) {
      if (err instanceof HttpError) return fail(err);
      throw err;
    }

    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > this.maxBodyBytes) {
      // Answer without reading; the rest of the body is discarded as it arrives.
      req.resume();
      return fail(errors.payloadTooLarge(this.maxBodyBytes), true);
    }
    const read = await readBody(req, this.maxBodyBytes);
    if (!read.ok) {
      if (read.reason === 'too-large') return fail(errors.payloadTooLarge(this.maxBodyBytes), true);
      return; // client went away; nothing to answer
    }

    const decision = this.faults.idle ? NO_FAULT : this.faults.decide();
    if (decision.kind !== 'none' && decision.kind !== 'drop-after' && decision.kind !== 'oversized-200' && !(decision.kind === 'stall' && decision.stallApply)) {
      // The write will not be applied: still record what it carried, so tests can match it with the retry.
      describeBody(read.body, entry);
    }
    if (decision.delayMs > 0) {
      this.stats.faults.latency += 1;
      if (!(await this.sleep(decision.delayMs))) return;
    }
    switch (decision.kind) {
      case '429': {
        entry.fault = '429';
        this.stats.faults['429'] += 1;
        const headers: Record<string, string> = decision.retryAfterSeconds !== null ? { 'Retry-After': String(decision.retryAfterSeconds) } : {};
        return fail(errors.injected429(headers));
      }
      case '500':
        entry.fault = '500';
        this.stats.faults['500'] += 1;
        return fail(errors.internal());
      case '503':
        entry.fault = '503';
        this.stats.faults['503'] += 1;
        return fail(errors.notReady());
      case '502':
        entry.fault = '502';
        this.stats.faults['502'] += 1;
        entry.status = 502;
        this.stats.requests.byStatus[502] = (this.stats.requests.byStatus[502] ?? 0) + 1;
        if (!res.headersSent) {
          res.writeHead(502, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(BAD_GATEWAY_BODY) });
          res.end(BAD_GATEWAY_BODY);
        }
        return;
      case 'drop-before':
        return drop('drop-before');
      case 'malformed-200':
        entry.fault = 'malformed-200';
        this.stats.faults['malformed-200'] += 1;
        return respond(200, malformedResults(entry.documents ?? 1));
      case 'stall':
        entry.fault = 'stall';
        this.stats.faults.stall += 1;
        if (!(await this.sleep(decision.stallMs))) return;
        if (!decision.stallApply) {
          req.socket.destroy();
          return;
        }
        break;
      default:
        break;
    }

    let outcome: { status: number; body: string };
    try {
      outcome = this.write(method, workspace, collectionName, read.body, entry);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      outcome = { status: err.status, body: JSON.stringify(err.model) };
    }
    if (decision.kind === 'drop-after') return drop('drop-after');
    if (decision.kind === 'oversized-200' && outcome.status === 200) {
      entry.fault = 'oversized-200';
      this.stats.faults['oversized-200'] += 1;
      entry.status = 200;
      this.stats.requests.byStatus[200] = (this.stats.requests.byStatus[200] ?? 0) + 1;
      return sendPadded(res, outcome.body, this.faults.config.oversizedBytes);
    }
    respond(outcome.status, outcome.body);
  }

  /** Parses, validates and applies one write; synchronous, so atomic among requests. */
  private write(method: string, workspace: string, collectionName: string, raw: Buffer, entry: RequestLogEntry): { status: number; body: string } {
    let body: unknown;
    try {
      body = parseExactUtf8(raw);
    } catch (err) {
      const why = err instanceof TypeError ? 'the body is not valid UTF-8' : (err as Error).message;
      throw errors.invalidInput(`Could not parse the request body as JSON: ${why}`, 'INVALID_JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw errors.invalidInput('The request body must be a JSON object with a "data" array', 'INVALID_REQUEST_BODY');
    }
    const data = (body as Record<string, unknown>)['data'];
    if (!Array.isArray(data)) throw errors.invalidInput('"data" must be an array of documents', 'INVALID_REQUEST_BODY');
    entry.documents = data.length;
    if (data.length === 0) throw errors.invalidInput('"data" must contain at least one document', 'EMPTY_REQUEST');
    if (data.length > this.maxDocuments) {
      entry.ids = idsOf(data);
      throw errors.tooManyDocuments(this.maxDocuments);
    }
    let collection: Collection | undefined = this.store.get(workspace, collectionName);
    if (collection === undefined) {
      if (!this.autoCreate) {
        entry.ids = idsOf(data);
        throw errors.collectionNotFound(workspace, collectionName);
      }
      collection = this.store.create(workspace, collectionName).collection;
    }
    const traceId = randomUUID();
    const results = method === 'POST' ? addDocuments(collection, data, traceId) : method === 'DELETE' ? deleteDocuments(collection, data, traceId) : patchDocuments(collection, data, traceId);
    const ids: Array<string | null> = new Array(results.length);
    const counts = this.stats.documents;
    for (let i = 0; i < results.length; i++) {
      const r = results[i] as DocResult;
      ids[i] = r.id;
      counts[r.status] += 1;
    }
    entry.ids = ids;
    entry.applied = true;
    entry.appliedAt = new Date().toISOString();
    return { status: 200, body: serializeResults(collectionName, results, collection.nextOffset()) };
  }

  /** Resolves true after `ms`, or never when the emulator closes first (its sockets are destroyed then). */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve(!this.closing);
      }, ms);
      this.timers.add(t);
    });
  }

  // ---- Admin ---------------------------------------------------------------

  private async admin(req: http.IncomingMessage, res: http.ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    const parts = path.split('/').slice(2).map(safeDecode);
    if (parts.some((p) => p === undefined)) throw errors.routeNotFound(path);
    const [a, b, c, d, e, f] = parts as string[];
    const ok = (value: unknown, status = 200) => send(res, status, JSON.stringify(value));
    const only = (allowed: string) => {
      if (!allowed.split(', ').includes(method)) throw errors.methodNotAllowed(method, allowed);
    };
    const bodyJson = async (): Promise<unknown> => {
      const read = await readBody(req, this.maxBodyBytes);
      if (!read.ok) throw errors.payloadTooLarge(this.maxBodyBytes);
      const text = read.body.toString('utf8');
      if (text.trim() === '') return {};
      try {
        return JSON.parse(text);
      } catch (err) {
        throw errors.invalidInput(`Could not parse the request body as JSON: ${(err as Error).message}`, 'INVALID_JSON');
      }
    };

    switch (parts.length === 1 ? a : `${a}/*`) {
      case 'health':
        only('GET');
        return ok({ ok: true });
      case 'stats':
        only('GET');
        return ok(this.stats);
      case 'reset':
        only('POST');
        this.reset();
        return ok({ reset: true });
      case 'requests': {
        only('GET');
        const since = Number(query.get('since') ?? 0);
        const coll = query.get('collection');
        const target = coll !== null ? parseCollectionSafe(coll) : undefined;
        const entries = this.log
          .toArray()
          .filter((x) => x.seq > since && (target === undefined || (x.workspace === target.workspace && x.collection === target.collection)));
        return ok({ data: entries });
      }
      case 'faults':
        only('GET, PUT, PATCH');
        if (method === 'GET') return ok({ ...this.faults.config, seed: this.seed });
        try {
          const input = await bodyJson();
          this.faults.config = parseFaultConfig(input, method === 'PATCH' ? this.faults.config : defaultFaultConfig());
        } catch (err) {
          if (err instanceof FaultConfigError) throw errors.invalidInput(err.message, 'INVALID_FAULT_CONFIG');
          throw err;
        }
        return ok({ ...this.faults.config, seed: this.seed });
      case 'collections':
        only('GET');
        return ok({
          data: this.store.list().map((x) => ({ workspace: x.workspace, collection: x.name, count: x.docs.size })),
        });
      case 'collections/*':
        break;
      default:
        throw errors.routeNotFound(path);
    }

    // /_emulator/collections/{ws}/{coll}[/docs[/{id}] | /count | /reset]
    if (b === undefined || c === undefined || b === '' || c === '' || parts.length > 6) throw errors.routeNotFound(path);
    if (d === undefined) {
      only('PUT, DELETE');
      if (method === 'PUT') {
        const { created } = this.store.create(b, c);
        return ok({ workspace: b, collection: c, created }, created ? 201 : 200);
      }
      if (!this.store.drop(b, c)) throw errors.collectionNotFound(b, c);
      return ok({ workspace: b, collection: c, dropped: true });
    }
    const collection = this.store.get(b, c);
    if (collection === undefined) throw errors.collectionNotFound(b, c);
    if (d === 'count' && e === undefined) {
      only('GET');
      return ok({ count: collection.docs.size });
    }
    if (d === 'reset' && e === undefined) {
      only('POST');
      collection.docs.clear();
      return ok({ reset: true });
    }
    if (d === 'docs' && e === undefined) {
      only('GET');
      const offset = Number(query.get('offset') ?? 0);
      const limit = Number(query.get('limit') ?? Infinity);
      if (!(offset >= 0) || !(limit >= 0)) throw errors.invalidInput('offset and limit must be non-negative numbers', 'INVALID_QUERY');
      const all = collection.list();
      return ok({ count: all.length, data: all.slice(offset, offset + limit) });
    }
    if (d === 'docs' && e !== undefined && f === undefined) {
      only('GET');
      const doc = collection.get(e);
      if (doc === undefined) throw new HttpError(404, 'NOTFOUND', `Document "${e}" does not exist in collection "${c}"`, 'DOCUMENT_DOES_NOT_EXIST');
      return ok(doc);
    }
    throw errors.routeNotFound(path);
  }

  private reset(): void {
    this.store.clearAll();
    this.stats = emptyStats();
    this.log.clear();
    this.faults = new FaultInjector(parseFaultConfig({}, this.initialFaults), seededRandom(this.seed));
    this.bucket = this.rateLimit > 0 ? new TokenBucket(this.rateLimit, this.rateBurst ?? Math.max(1, this.rateLimit)) : undefined;
  }

  shutdown(): void {
    this.closing = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

function parseCollectionSafe(spec: string): { workspace: string; collection: string } {
  try {
    return parseCollectionName(spec);
  } catch (err) {
    throw errors.invalidInput((err as Error).message, 'INVALID_QUERY');
  }
}

/** Starts an emulator (port 0 = a free port); always `close()` it. */
export async function startEmulator(opts: EmulatorOptions): Promise<Emulator> {
  const emu = new EmulatorServer(opts);
  const serverOptions = { keepAliveTimeout: 5_000, requestTimeout: 0 };
  const server = opts.tls ? https.createServer({ ...serverOptions, key: opts.tls.key, cert: opts.tls.cert }, emu.handle) : http.createServer(serverOptions, emu.handle);
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // Malformed HTTP never reaches the handler; answer it like a gateway would, as JSON.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code !== 'ECONNRESET' && socket.writable) {
      const body = JSON.stringify(errorModel('INVALIDINPUT', 'Malformed HTTP request', 'BAD_HTTP_REQUEST'));
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    } else socket.destroy();
  });
  const host = opts.host ?? DEFAULTS.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${opts.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    host,
    admin: new EmulatorAdmin(url),
    store: emu.store,
    close() {
      closed ??= new Promise<void>((resolve) => {
        emu.shutdown();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
  };
}
