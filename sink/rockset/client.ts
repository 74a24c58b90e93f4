// Sends one Write API request over a keep-alive undici pool and classifies the
// answer. No retry here: the caller owns retries, so it can heartbeat the
// consumer group and notice a shutdown or a rebalance between attempts.
import { Pool } from 'undici';
import { requestBodyBytes, type WriteRequest } from '../batch.ts';
import { parseRetryAfter } from '../backoff.ts';
import { classifyError, classifyResponse, type WriteOutcome } from './classify.ts';

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
  readonly #apiKeySource: string | undefined;

  constructor(opts: RocksetClientOptions) {
    const url = new URL(opts.apiServer);
    this.#pool = new Pool(url.origin, { connections: opts.connections, keepAliveTimeout: 30_000, pipelining: 1 });
    this.#authorization = `ApiKey ${opts.apiKey}`;
    this.#workspace = opts.workspace;
    this.#timeoutMs = opts.requestTimeoutMs;
    this.#apiKeySource = opts.apiKeySource;
  }

  path(collection: string): string {
    return `/v1/orgs/self/ws/${encodeURIComponent(this.#workspace)}/collections/${encodeURIComponent(collection)}/docs`;
  }

  async write(req: WriteRequest, signal?: AbortSignal): Promise<WriteOutcome> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    try {
      const res = await this.#pool.request({
        path: this.path(req.collection),
        method: req.method,
        headers: { authorization: this.#authorization, 'content-type': 'application/json', accept: 'application/json' },
        body: requestBodyBytes(req.actions),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      const text = await res.body.text();
      return classifyResponse(res.statusCode, text, parseRetryAfter(res.headers['retry-after']), req.actions.length, this.#apiKeySource);
    } catch (err) {
      if (timeout.aborted) return { type: 'retry', cause: 'timeout', message: `no answer within ${this.#timeoutMs} ms (rockset.requestTimeoutMs)` };
      return classifyError(err);
    }
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
