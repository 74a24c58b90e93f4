// What a Write API answer means for the sink (pure). Rockset's own clients got
// this wrong in both directions: the Kafka connector ignored per-document ERRORs
// inside a 200 and treated 429/502/503 as fatal. Here:
// - 2xx: per-document results, each ok, retriable, or rejected;
// - 429, 5xx, 408, timeouts, connection errors: retry the request;
// - 413, or a 400 about the request's size or document count: split it;
// - 401/403/404 and other 4xx: stop the sink, retrying helps nobody;
// - a 2xx the sink cannot read (not one result object per document, or a body
//   larger than any real answer): retry, a bounded number of times (client.ts);
// - a certificate that does not verify: stop, a retry meets the same certificate.
import type { FatalReason } from '../errors.ts';

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

export type RetryCause = 'rate-limited' | 'server-error' | 'timeout' | 'connection' | 'bad-response';

export type WriteOutcome =
  | { type: 'ok'; results: DocResult[] }
  | { type: 'retry'; cause: RetryCause; afterMs?: number; message: string }
  | { type: 'split'; message: string }
  /** `reason` when the status alone does not say why (no status: 0). */
  | { type: 'fatal'; status: number; message: string; reason?: FatalReason };

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
      return { type: 'retry', cause: 'bad-response', message: `HTTP ${status} with ${Array.isArray(data) ? data.length : 'no'} results for ${expectedDocs} documents` };
    }
    const odd = data.findIndex((r: unknown) => typeof r !== 'object' || r === null || Array.isArray(r) || typeof (r as DocResult).status !== 'string');
    if (odd >= 0) {
      return { type: 'retry', cause: 'bad-response', message: `HTTP ${status} whose result ${odd} is ${JSON.stringify(data[odd])?.slice(0, 50) ?? 'undefined'}, not a document result` };
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

/**
 * The most a Write API answer may take, in bytes: Rockset's is a small JSON object
 * per document echoing its _id (escaped at worst 6 bytes per character) and, for an
 * ERROR, a message. Anything larger is not an answer to read whole.
 */
export function responseLimitBytes(documents: number, idBytes: number): number {
  // idBytes (UTF-8) is at least the _ids' length in UTF-16 units, each escaped in at most 6 bytes
  return 1024 * 1024 + 1024 * documents + 6 * idBytes;
}

// OpenSSL's verification failures, and Node's own for a name the certificate does not carry.
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE', 'CERT_CHAIN_TOO_LONG', 'INVALID_CA', 'INVALID_PURPOSE', 'HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const CONNECTION_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ABORT_ERR']);

/**
 * A request that got no HTTP answer: worth retrying (the write may or may not have
 * been applied), unless the server's certificate did not verify: that stops the sink.
 */
export function classifyError(err: unknown, host = 'the Rockset API server'): WriteOutcome {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError') return { type: 'retry', cause: 'timeout', message: 'no answer in time (request timeout)' };
  // DOMExceptions carry a numeric legacy `code`; only string codes name the failure.
  const code = [e.code, e.cause?.code, e.name].find((c): c is string => typeof c === 'string' && c !== '') ?? '';
  if (TLS_CODES.has(code)) {
    return {
      type: 'fatal',
      status: 0,
      reason: 'TlsFailed',
      message: `the TLS certificate of ${host} did not verify (${code}: ${e.message ?? ''}). Check rockset.apiServer names the Rockset API server; a proxy with a private CA needs that CA trusted by the worker (NODE_EXTRA_CA_CERTS)`,
    };
  }
  if (TIMEOUT_CODES.has(code)) return { type: 'retry', cause: 'timeout', message: `no answer in time (${code})` };
  if (CONNECTION_CODES.has(code)) return { type: 'retry', cause: 'connection', message: `connection failed (${code}: ${e.message ?? ''})` };
  return { type: 'retry', cause: 'connection', message: `request failed (${code || 'error'}: ${e.message ?? String(err)})` };
}
