// Rockset's ErrorModel, the body of every non-2xx answer and the `error` of a
// per-document ERROR status. Key order and the explicit nulls follow the real
// 404 captured in the Go client's VCR cassette; `message_key` values other than
// COLLECTION_DOES_NOT_EXIST and RECEIVER_REQUEST_MAX_DOCUMENT_LIMIT are the
// emulator's own (see README): code should branch on `type`, not on them.
import { randomUUID } from 'node:crypto';

export type ErrorType =
  | 'AUTHEXCEPTION'
  | 'FORBIDDEN'
  | 'NOTFOUND'
  | 'INVALIDINPUT'
  | 'CONTENTTOOLARGE'
  | 'RESOURCEEXCEEDED'
  | 'INTERNALERROR'
  | 'NOT_READY'
  | 'METHODNOTALLOWED'
  | 'UNSUPPORTEDMEDIATYPE';

export interface ErrorModel {
  message: string;
  message_key: string | null;
  type: ErrorType;
  line: null;
  column: null;
  trace_id: string;
  error_id: null;
  query_id: null;
  internal_errors: null;
}

export function errorModel(type: ErrorType, message: string, messageKey: string | null, traceId: string = randomUUID()): ErrorModel {
  return {
    message,
    message_key: messageKey,
    type,
    line: null,
    column: null,
    trace_id: traceId,
    error_id: null,
    query_id: null,
    internal_errors: null,
  };
}

/** An HTTP-level failure: status plus the ErrorModel sent as its body. */
export class HttpError extends Error {
  readonly status: number;
  readonly model: ErrorModel;
  readonly headers: Record<string, string>;
  constructor(status: number, type: ErrorType, message: string, messageKey: string | null, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.model = errorModel(type, message, messageKey);
    this.headers = headers;
  }
}

export const errors = {
  missingAuth: () => new HttpError(401, 'AUTHEXCEPTION', 'Authentication failed: no API key was provided in the Authorization header.', 'AUTH_MISSING_API_KEY'),
  badAuth: () => new HttpError(401, 'AUTHEXCEPTION', 'Authentication failed: the API key is invalid.', 'AUTH_INVALID_API_KEY'),
  forbidden: () => new HttpError(403, 'FORBIDDEN', 'The API key does not have permission to write to this collection.', 'INSUFFICIENT_PERMISSIONS'),
  collectionNotFound: (workspace: string, collection: string) =>
    new HttpError(404, 'NOTFOUND', `Collection "${collection}" does not exist in workspace "${workspace}"`, 'COLLECTION_DOES_NOT_EXIST'),
  routeNotFound: (path: string) => new HttpError(404, 'NOTFOUND', `No route for ${path}`, 'ROUTE_NOT_FOUND'),
  methodNotAllowed: (method: string, allow: string) =>
    new HttpError(405, 'METHODNOTALLOWED', `Method ${method} is not allowed on this endpoint`, 'METHOD_NOT_ALLOWED', { Allow: allow }),
  invalidInput: (message: string, key: string) => new HttpError(400, 'INVALIDINPUT', message, key),
  tooManyDocuments: (limit: number) =>
    new HttpError(
      400,
      'INVALIDINPUT',
      `The number of documents specified in this request exceeds the maximum allowed limit of ${limit.toLocaleString('en-US')} documents.`,
      'RECEIVER_REQUEST_MAX_DOCUMENT_LIMIT',
    ),
  payloadTooLarge: (limit: number) => new HttpError(413, 'CONTENTTOOLARGE', `Payload size exceeds limit of ${limit} bytes`, 'PAYLOAD_TOO_LARGE'),
  unsupportedMediaType: (what: string) => new HttpError(415, 'UNSUPPORTEDMEDIATYPE', what, 'UNSUPPORTED_MEDIA_TYPE'),
  rateLimited: (limit: number, headers: Record<string, string>) =>
    new HttpError(
      429,
      'RESOURCEEXCEEDED',
      `Your account is configured with a maximum write rate limit of ${limit} requests per second. Please retry with backoff.`,
      'WRITE_RATE_LIMIT_EXCEEDED',
      headers,
    ),
  injected429: (headers: Record<string, string>) =>
    new HttpError(429, 'RESOURCEEXCEEDED', 'Resource exceeded: too many requests, please retry with backoff.', 'RESOURCE_EXCEEDED', headers),
  internal: () => new HttpError(500, 'INTERNALERROR', 'An internal error occurred, please retry.', 'INTERNAL_ERROR'),
  notReady: () => new HttpError(503, 'NOT_READY', 'The service is not ready to serve this request, please retry.', 'NOT_READY'),
};

/** What a load balancer in front of Rockset answered on 502: HTML, not an ErrorModel. */
export const BAD_GATEWAY_BODY =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n';
