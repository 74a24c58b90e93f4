// What a Write API answer means for the sink (pure). Rockset's own clients got
// this wrong in both directions: the Kafka connector ignored per-document ERRORs
// inside a 200 and treated 429/502/503 as fatal. Here:
// - 2xx: per-document results, each ok, retriable, or rejected;
// - 429, 5xx, 408, timeouts, connection errors: retry the request;
// - 413, or a 400 about the request's size or document count: split it;
// - 401/403/404 and other 4xx: stop the sink, retrying helps nobody.

export interface ErrorModel {
  message?: string;
  message_key?: string;
  type?: string;
}

export interface DocResult {
  _id: string | null;
  status: 'ADDED' | 'REPLACED' | 'DELETED' | 'PATCHED' | 'ERROR' | string;
  error: ErrorModel | null;
}

export type RetryCause = 'rate-limited' | 'server-error' | 'timeout' | 'connection';

export type WriteOutcome =
  | { type: 'ok'; results: DocResult[] }
  | { type: 'retry'; cause: RetryCause; afterMs?: number; message: string }
  | { type: 'split'; message: string }
  | { type: 'fatal'; status: number; message: string };

/** Per-document error types that may pass on a later attempt. */
const RETRIABLE_DOC_ERRORS = new Set(['INTERNALERROR', 'NOT_READY', 'SERVICEUNAVAILABLE', 'RESOURCEEXCEEDED', 'RATELIMITEXCEEDED', 'CONNECTION_ERROR', 'CREATING', 'QUERY_TIMEOUT']);

export function isRetriableDocError(e: ErrorModel | null): boolean {
  return e !== null && RETRIABLE_DOC_ERRORS.has(e.type ?? '');
}

function parseErrorModel(body: string): ErrorModel | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return typeof v === 'object' && v !== null ? (v as ErrorModel) : undefined;
  } catch {
    return undefined;
  }
}

function describe(status: number, model: ErrorModel | undefined, body: string): string {
  if (model?.message) {
    const kind = [model.type, model.message_key].filter(Boolean).join('/');
    return `HTTP ${status}${kind ? ` ${kind}` : ''}: ${model.message}`;
  }
  return `HTTP ${status}: ${body.slice(0, 200).replace(/\s+/g, ' ').trim() || '(empty body)'}`;
}

/** Where the API key came from, as the 401 hint names it when the sink was not told (ROCKSET_API_KEY_SOURCE). */
export const DEFAULT_API_KEY_SOURCE = 'the Secret holding it (ROCKSET_API_KEY / rockset.apiKeyFile)';

const FATAL_HINTS: Record<number, string> = {
  403: 'the API key may not write to this collection: give its role write access',
  404: 'the workspace or collection does not exist: create it in Rockset, or fix rockset.workspace / rockset.collection / rockset.topicCollections',
};

/** `apiKeySource` names where the key came from, for the 401 hint (a RocksetSink names its Secret reference). */
export function classifyResponse(status: number, body: string, retryAfterMs: number | undefined, expectedDocs: number, apiKeySource = DEFAULT_API_KEY_SOURCE): WriteOutcome {
  if (status >= 200 && status < 300) {
    const parsed = parseErrorModel(body) as { data?: unknown } | undefined;
    const data = parsed?.data;
    if (!Array.isArray(data) || data.length !== expectedDocs) {
      // Without one result per document nothing is known to be written.
      return { type: 'retry', cause: 'server-error', message: `HTTP ${status} with ${Array.isArray(data) ? data.length : 'no'} results for ${expectedDocs} documents` };
    }
    return { type: 'ok', results: data as DocResult[] };
  }
  const model = parseErrorModel(body);
  const message = describe(status, model, body);
  if (status === 429) return { type: 'retry', cause: 'rate-limited', afterMs: retryAfterMs, message };
  if (status >= 500 || status === 408) return { type: 'retry', cause: 'server-error', afterMs: retryAfterMs, message };
  if (status === 413) return { type: 'split', message };
  if (status === 400 && isSizeLimit(model)) return { type: 'split', message };
  const hint = status === 401 ? `the API key was refused: check ${apiKeySource}` : FATAL_HINTS[status];
  return { type: 'fatal', status, message: hint ? `${message} (${hint})` : message };
}

// Rockset's only documented size answers besides 413: the per-request document limit.
function isSizeLimit(model: ErrorModel | undefined): boolean {
  return /^RECEIVER_REQUEST_MAX_(DOCUMENT|BYTE|SIZE)/.test(model?.message_key ?? '') || /^Payload size exceeds/i.test(model?.message ?? '');
}

const CONNECTION_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ABORT_ERR']);

/** A request that got no HTTP answer: always worth retrying, the write may or may not have been applied. */
export function classifyError(err: unknown): WriteOutcome {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError') return { type: 'retry', cause: 'timeout', message: 'no answer in time (request timeout)' };
  // DOMExceptions carry a numeric legacy `code`; only string codes name the failure.
  const code = [e.code, e.cause?.code, e.name].find((c): c is string => typeof c === 'string' && c !== '') ?? '';
  if (TIMEOUT_CODES.has(code)) return { type: 'retry', cause: 'timeout', message: `no answer in time (${code})` };
  if (CONNECTION_CODES.has(code)) return { type: 'retry', cause: 'connection', message: `connection failed (${code}: ${e.message ?? ''})` };
  return { type: 'retry', cause: 'connection', message: `request failed (${code || 'error'}: ${e.message ?? String(err)})` };
}
