// Sends one Write API request over a keep-alive undici pool and classifies the
// answer. No retry here: the caller owns retries, so it can heartbeat the
// consumer group and notice a shutdown or a rebalance between attempts.
import { Pool, type Dispatcher } from 'undici';
import { requestBodyBytes, type WriteRequest } from '../batch.ts';
import { parseRetryAfter } from '../backoff.ts';
import { classifyError, classifyResponse, responseLimitBytes, type WriteOutcome } from './classify.ts';

/**
 * Unreadable answers (a 2xx without one result object per document, a body larger
 * than any real answer) in a row, across all requests, before the sink stops with
 * BadResponse: retrying an answer that is broken for good would stall every
 * partition while /readyz says ready, even with retry.maxRetries unlimited (-1).
 */
export const MAX_BAD_RESPONSES = 10;

export interface RocksetClientOptions {
  apiServer: string;
  apiKey: string;
  workspace: string;
  requestTimeoutMs: number;
  connections: number;
  /** Where the key came from, for the message of a 401 (never the key). */
  apiKeySource?: string;
}

export class RocksetClient {
  readonly #pool: Pool;
  readonly #authorization: string;
  readonly #workspace: string;
  readonly #timeoutMs: number;
  readonly #host: string;
  #badResponses = 0;
  readonly #apiKeySource: string | undefined;

  constructor(opts: RocksetClientOptions) {
    const url = new URL(opts.apiServer);
    this.#pool = new Pool(url.origin, { connections: opts.connections, keepAliveTimeout: 30_000, pipelining: 1 });
    this.#authorization = `ApiKey ${opts.apiKey}`;
    this.#workspace = opts.workspace;
    this.#timeoutMs = opts.requestTimeoutMs;
    this.#host = url.host;
    this.#apiKeySource = opts.apiKeySource;
  }

  path(collection: string): string {
    return `/v1/orgs/self/ws/${encodeURIComponent(this.#workspace)}/collections/${encodeURIComponent(collection)}/docs`;
  }

  async write(req: WriteRequest, signal?: AbortSignal): Promise<WriteOutcome> {
    const outcome = await this.#send(req, signal);
    if (outcome.type === 'ok') this.#badResponses = 0;
    if (outcome.type !== 'retry' || outcome.cause !== 'bad-response') return outcome;
    if (++this.#badResponses < MAX_BAD_RESPONSES) return outcome;
    return { type: 'fatal', status: 0, reason: 'BadResponse', message: `${this.#host} answered ${this.#badResponses} times in a row with a response the sink cannot read, the last: ${outcome.message}. Check rockset.apiServer names the Rockset API server (not a proxy or another service)` };
  }

  async #send(req: WriteRequest, signal?: AbortSignal): Promise<WriteOutcome> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    try {
      const res = await this.#pool.request({
        path: this.path(req.collection),
        method: req.method,
        headers: { authorization: this.#authorization, 'content-type': 'application/json', accept: 'application/json' },
        body: req.body ?? requestBodyBytes(req.actions),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      const limit = responseLimitBytes(req.count, req.idBytes);
      const text = await readCapped(res.body, Number(res.headers['content-length'] ?? 0), limit);
      if (text === undefined) {
        return { type: 'retry', cause: 'bad-response', message: `HTTP ${res.statusCode} with a body over ${limit} bytes, more than any answer for ${req.count} documents; not read` };
      }
      return classifyResponse(res.statusCode, text, parseRetryAfter(res.headers['retry-after']), req.count, this.#apiKeySource);
    } catch (err) {
      if (timeout.aborted) return { type: 'retry', cause: 'timeout', message: `no answer within ${this.#timeoutMs} ms (rockset.requestTimeoutMs)` };
      return classifyError(err, this.#host);
    }
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/**
 * The body as text, or undefined when it is (or says it is) longer than `limit`: then
 * it is not read on, and the connection is closed rather than drained.
 */
async function readCapped(body: Dispatcher.ResponseData['body'], declared: number, limit: number): Promise<string | undefined> {
  if (declared > limit) {
    body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined; // leaving the loop destroys the stream
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
}
