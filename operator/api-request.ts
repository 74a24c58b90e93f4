// Plain-JSON requests to the API server with the kubeconfig's auth and TLS: for the
// informer's lists and the Lease, where client-node's typed clients would turn
// timestamps into Date objects and back (MicroTime needs six fractional digits).
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { fetch } from 'undici';

export class ApiError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

/**
 * What bounds the operator's requests while it leads: every request ends within
 * timeoutMs (a hung connection must not outlive the lease), and a write is sent only
 * while mayWrite() holds, checked right before it leaves (after auth), so a process
 * that was frozen past its renew deadline sends nothing on waking.
 */
export interface RequestGuard {
  timeoutMs?: number;
  mayWrite?: () => boolean;
}

export class FencedError extends Error {
  constructor(method: string, path: string) {
    super(`${method} ${path}: not sent: this replica has not renewed its leader lease within the renew deadline`);
    this.name = 'FencedError';
  }
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  guard?: RequestGuard;
  /** Accept header (default application/json), e.g. for metadata-only lists. */
  accept?: string;
}

export async function apiRequest<T>(kc: KubeConfig, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, opts: RequestOptions = {}): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server + path);
  for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
  const ctx = new RequestContext(url.toString(), HttpMethod[method]);
  await kc.applySecurityAuthentication(ctx);
  const headers: Record<string, string> = { ...ctx.getHeaders(), accept: opts.accept ?? 'application/json' };
  const init: NonNullable<Parameters<typeof fetch>[1]> = { method, headers, dispatcher: ctx.getDispatcher() as never };
  if (opts.body !== undefined) {
    headers['content-type'] = opts.contentType ?? 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  const timeoutMs = opts.guard?.timeoutMs;
  const signals = [opts.signal, timeoutMs !== undefined ? AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs))) : undefined].filter((x): x is AbortSignal => x !== undefined);
  if (signals.length) init.signal = signals.length === 1 ? signals[0]! : AbortSignal.any(signals);
  if (method !== 'GET' && opts.guard?.mayWrite && !opts.guard.mayWrite()) throw new FencedError(method, path);
  const res = await fetch(url, init);
  const text = await res.text();
  if (res.status < 200 || res.status > 299) {
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not a Status object
    }
    throw new ApiError(res.status, `${method} ${path}: ${res.status} ${message}`);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
