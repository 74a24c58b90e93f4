// Typed client of the emulator's /_emulator admin routes, for tests and tools that
// talk to an emulator over HTTP (in-process or a separate `npm run emulator`).
// Documents are parsed with exact integers: values past 2^53 come back as
// JSON.rawJSON objects, which JSON.stringify writes with their original digits.
import type { FaultConfig, FaultConfigInput, ScriptStep } from './faults.ts';
import { parseExact } from './json.ts';
import type { EmulatorStats, RequestLogEntry } from './server.ts';

export type { FaultConfig, FaultConfigInput, ScriptStep } from './faults.ts';
export type { EmulatorStats, RequestLogEntry } from './server.ts';

export type StoredDoc = Record<string, unknown> & { _id: string };

export class EmulatorAdminError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string, what: string) {
    super(`${what} failed with HTTP ${status}: ${body}`);
    this.status = status;
    this.body = body;
  }
}

export class EmulatorAdmin {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  private async call<T>(method: string, path: string, body?: unknown, okStatuses: number[] = [200, 201]): Promise<{ status: number; value: T }> {
    const res = await fetch(`${this.baseUrl}/_emulator${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await res.text();
    if (!okStatuses.includes(res.status)) throw new EmulatorAdminError(res.status, text, `${method} /_emulator${path}`);
    return { status: res.status, value: (text === '' ? undefined : parseExact(text)) as T };
  }

  private static coll(workspace: string, collection: string): string {
    return `/collections/${encodeURIComponent(workspace)}/${encodeURIComponent(collection)}`;
  }

  /** Creates a collection; false when it already existed. */
  async createCollection(workspace: string, collection: string): Promise<boolean> {
    const r = await this.call<{ created: boolean }>('PUT', EmulatorAdmin.coll(workspace, collection));
    return r.value.created;
  }

  /** Removes a collection: writes to it answer 404 again (unless autoCreate). */
  async dropCollection(workspace: string, collection: string): Promise<void> {
    await this.call('DELETE', EmulatorAdmin.coll(workspace, collection));
  }

  async collections(): Promise<Array<{ workspace: string; collection: string; count: number }>> {
    return (await this.call<{ data: Array<{ workspace: string; collection: string; count: number }> }>('GET', '/collections')).value.data;
  }

  /** Stored documents in first-insertion order. */
  async docs(workspace: string, collection: string, page: { offset?: number; limit?: number } = {}): Promise<StoredDoc[]> {
    const q = new URLSearchParams();
    if (page.offset !== undefined) q.set('offset', String(page.offset));
    if (page.limit !== undefined) q.set('limit', String(page.limit));
    const qs = q.size > 0 ? `?${q}` : '';
    return (await this.call<{ data: StoredDoc[] }>('GET', `${EmulatorAdmin.coll(workspace, collection)}/docs${qs}`)).value.data;
  }

  async doc(workspace: string, collection: string, id: string): Promise<StoredDoc | undefined> {
    const r = await this.call<StoredDoc>('GET', `${EmulatorAdmin.coll(workspace, collection)}/docs/${encodeURIComponent(id)}`, undefined, [200, 404]);
    // A 404 for a missing collection is an error; for a missing document it is "undefined".
    if (r.status === 404) {
      if ((r.value as unknown as { message_key?: string }).message_key === 'COLLECTION_DOES_NOT_EXIST') {
        throw new EmulatorAdminError(404, JSON.stringify(r.value), 'GET doc');
      }
      return undefined;
    }
    return r.value;
  }

  async count(workspace: string, collection: string): Promise<number> {
    return (await this.call<{ count: number }>('GET', `${EmulatorAdmin.coll(workspace, collection)}/count`)).value.count;
  }

  /**
   * Without arguments: empties every collection and clears stats, the request
   * log and faults (back to the start-up configuration). With a collection:
   * empties only that collection.
   */
  async reset(workspace?: string, collection?: string): Promise<void> {
    if (workspace !== undefined && collection !== undefined) await this.call('POST', `${EmulatorAdmin.coll(workspace, collection)}/reset`);
    else await this.call('POST', '/reset');
  }

  async stats(): Promise<EmulatorStats> {
    return (await this.call<EmulatorStats>('GET', '/stats')).value;
  }

  async faults(): Promise<FaultConfig & { seed: number }> {
    return (await this.call<FaultConfig & { seed: number }>('GET', '/faults')).value;
  }

  /** Replaces the whole fault configuration (fields left out take defaults: `{}` clears all faults). */
  async setFaults(config: FaultConfigInput): Promise<FaultConfig> {
    return (await this.call<FaultConfig>('PUT', '/faults', config)).value;
  }

  /** Changes only the given fields of the fault configuration. */
  async updateFaults(config: FaultConfigInput): Promise<FaultConfig> {
    return (await this.call<FaultConfig>('PATCH', '/faults', config)).value;
  }

  /** Shorthand: the next requests get these faults, in order. */
  async script(...steps: ScriptStep[]): Promise<void> {
    await this.updateFaults({ script: steps });
  }

  /** Write requests seen (newest last), optionally only after `since` (a seq) or for one collection. */
  async requests(filter: { since?: number; workspace?: string; collection?: string } = {}): Promise<RequestLogEntry[]> {
    const q = new URLSearchParams();
    if (filter.since !== undefined) q.set('since', String(filter.since));
    if (filter.workspace !== undefined && filter.collection !== undefined) q.set('collection', `${filter.workspace}.${filter.collection}`);
    const qs = q.size > 0 ? `?${q}` : '';
    return (await this.call<{ data: RequestLogEntry[] }>('GET', `/requests${qs}`)).value.data;
  }
}
