// In-memory collections and the three document operations of the Write API.
// Everything here is synchronous, so one request's batch is applied atomically
// with respect to other requests, in the order the batch lists its documents.
import { randomUUID } from 'node:crypto';
import { errorModel, type ErrorModel, type ErrorType } from './errors.ts';
import { cloneJson, fromInteger, integerOf, isRawJSON, jsonEqual } from './json.ts';

export type Doc = Record<string, unknown>;
export type DocStatus = 'ADDED' | 'REPLACED' | 'DELETED' | 'PATCHED' | 'ERROR';

export interface DocResult {
  id: string | null;
  status: DocStatus;
  error: ErrorModel | null;
  patchId: string | null;
}

/**
 * `full` keeps every document; `ids` keeps only the set of `_id`s (statuses,
 * counts and REPLACED detection stay exact) so that long benchmarks do not
 * fill the emulator's memory with documents nobody reads.
 */
export type StoreMode = 'full' | 'ids';

/** Stands for every document of an `ids` collection. */
const ID_ONLY: Doc = Object.freeze({});

export class Collection {
  readonly workspace: string;
  readonly name: string;
  readonly mode: StoreMode;
  /** Keyed by `_id`, in first-insertion order (a replace keeps the document's place). */
  readonly docs = new Map<string, Doc>();
  /** Number of successful write requests; feeds the opaque `last_offset`. */
  writes = 0;
  constructor(workspace: string, name: string, mode: StoreMode = 'full') {
    this.workspace = workspace;
    this.name = name;
    this.mode = mode;
  }
  /** The stored document (just `{_id}` in `ids` mode). */
  get(id: string): Doc | undefined {
    const doc = this.docs.get(id);
    return doc === ID_ONLY ? { _id: id } : doc;
  }
  list(): Doc[] {
    const out: Doc[] = [];
    for (const [id, doc] of this.docs) out.push(doc === ID_ONLY ? { _id: id } : doc);
    return out;
  }
  nextOffset(): string {
    this.writes += 1;
    return `f1:0:${this.writes}:0:---0`;
  }
}

export class Store {
  private readonly collections = new Map<string, Collection>();
  readonly mode: StoreMode;
  constructor(mode: StoreMode = 'full') {
    this.mode = mode;
  }

  private static key(workspace: string, name: string): string {
    return `${workspace}\u0000${name}`;
  }
  get(workspace: string, name: string): Collection | undefined {
    return this.collections.get(Store.key(workspace, name));
  }
  /** Creates the collection unless it exists; `created` tells which. */
  create(workspace: string, name: string): { collection: Collection; created: boolean } {
    const key = Store.key(workspace, name);
    const existing = this.collections.get(key);
    if (existing) return { collection: existing, created: false };
    const collection = new Collection(workspace, name, this.mode);
    this.collections.set(key, collection);
    return { collection, created: true };
  }
  drop(workspace: string, name: string): boolean {
    return this.collections.delete(Store.key(workspace, name));
  }
  list(): Collection[] {
    return [...this.collections.values()];
  }
  /** Empties every collection; the collections themselves stay. */
  clearAll(): void {
    for (const c of this.collections.values()) {
      c.docs.clear();
      c.writes = 0;
    }
  }
}

function docError(type: ErrorType, message: string, key: string, traceId: string): ErrorModel {
  return errorModel(type, message, key, traceId);
}

function isObject(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isRawJSON(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (isRawJSON(value)) return 'a number';
  return `a ${typeof value}`;
}

/** Rockset answered a missing `_id` with a UUID plus "-1" (suffix meaning unknown). */
export function generateId(): string {
  return `${randomUUID()}-1`;
}

/** Error message for an invalid `_event_time`, or null when it is valid. */
export function checkEventTime(value: unknown): string | null {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return null;
    return `_event_time must be a non-negative integer number of microseconds since the epoch, got ${value}`;
  }
  if (isRawJSON(value)) return `_event_time ${value.rawJSON} is out of range`;
  if (isObject(value)) {
    const keys = Object.keys(value);
    const t = value['__rockset_type'];
    const v = value['value'];
    if (keys.length !== 2 || t !== 'timestamp' || !('value' in value)) {
      return '_event_time object must be exactly {"__rockset_type":"timestamp","value":<integer microseconds>}';
    }
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return null;
    return `_event_time timestamp value must be a non-negative integer number of microseconds, got ${JSON.stringify(v)}`;
  }
  return `_event_time must be an integer number of microseconds or a {"__rockset_type":"timestamp"} object, got ${describe(value)}`;
}

export function addDocuments(collection: Collection, data: unknown[], traceId: string): DocResult[] {
  const results: DocResult[] = new Array(data.length);
  const docs = collection.docs;
  const keep = collection.mode === 'full';
  for (let i = 0; i < data.length; i++) {
    const doc = data[i];
    if (!isObject(doc)) {
      results[i] = errorResult(null, docError('INVALIDINPUT', `Document must be a JSON object, got ${describe(doc)}`, 'INVALID_DOCUMENT', traceId));
      continue;
    }
    const given = doc['_id'];
    if (given !== undefined && (typeof given !== 'string' || given.length === 0)) {
      results[i] = errorResult(null, docError('INVALIDINPUT', `_id must be a non-empty string, got ${describe(given)}`, 'INVALID_ID', traceId));
      continue;
    }
    const id = given === undefined ? null : (given as string);
    const eventTime = doc['_event_time'];
    if (eventTime !== undefined) {
      const problem = checkEventTime(eventTime);
      if (problem !== null) {
        results[i] = errorResult(id, docError('INVALIDINPUT', problem, 'INVALID_EVENT_TIME', traceId));
        continue;
      }
    }
    if (doc['_op'] !== undefined) {
      results[i] = errorResult(id, docError('INVALIDINPUT', 'The _op field is not supported by the emulator (its semantics are unconfirmed)', 'UNSUPPORTED_OP_FIELD', traceId));
      continue;
    }
    // The server owns _meta; what a client sends is dropped.
    if (doc['_meta'] !== undefined) delete doc['_meta'];
    if (id === null) {
      // Generated only once the document is known to be valid, so an ERROR never reports an _id that was not stored.
      const generated = generateId();
      doc['_id'] = generated;
      docs.set(generated, keep ? doc : ID_ONLY);
      results[i] = { id: generated, status: 'ADDED', error: null, patchId: null };
      continue;
    }
    const replaced = docs.has(id);
    docs.set(id, keep ? doc : ID_ONLY);
    results[i] = { id, status: replaced ? 'REPLACED' : 'ADDED', error: null, patchId: null };
  }
  return results;
}

function errorResult(id: string | null, error: ErrorModel): DocResult {
  return { id, status: 'ERROR', error, patchId: null };
}

function idOf(entry: unknown, traceId: string): { id: string } | { error: DocResult } {
  if (!isObject(entry)) {
    return { error: errorResult(null, docError('INVALIDINPUT', `Entry must be a JSON object with an _id, got ${describe(entry)}`, 'INVALID_DOCUMENT', traceId)) };
  }
  const id = entry['_id'];
  if (typeof id !== 'string' || id.length === 0) {
    return { error: errorResult(null, docError('INVALIDINPUT', `_id must be a non-empty string, got ${describe(id)}`, 'INVALID_ID', traceId)) };
  }
  return { id };
}

/** Deleting a missing `_id` answers DELETED (as Rockset did) and creates nothing. */
export function deleteDocuments(collection: Collection, data: unknown[], traceId: string): DocResult[] {
  return data.map((entry) => {
    const r = idOf(entry, traceId);
    if ('error' in r) return r.error;
    collection.docs.delete(r.id);
    return { id: r.id, status: 'DELETED', error: null, patchId: null };
  });
}

export function patchDocuments(collection: Collection, data: unknown[], traceId: string): DocResult[] {
  return data.map((entry) => {
    const r = idOf(entry, traceId);
    if ('error' in r) return r.error;
    const ops = (entry as Doc)['patch'];
    if (!Array.isArray(ops)) {
      return errorResult(r.id, docError('INVALIDINPUT', '"patch" must be an array of operations', 'INVALID_PATCH', traceId));
    }
    const current = collection.docs.get(r.id);
    if (current === undefined) {
      return errorResult(r.id, docError('NOTFOUND', `Document with _id "${r.id}" does not exist`, 'DOCUMENT_DOES_NOT_EXIST', traceId));
    }
    try {
      if (current === ID_ONLY) {
        // No document to change: only the operations' form is checked.
        checkPatchOps(ops);
        return { id: r.id, status: 'PATCHED', error: null, patchId: randomUUID() };
      }
      // Ops apply to a copy so that a failing op leaves the stored document untouched.
      const updated = applyPatch(cloneJson(current), ops);
      collection.docs.set(r.id, updated);
    } catch (err) {
      if (!(err instanceof PatchError)) throw err;
      return errorResult(r.id, docError('INVALIDINPUT', err.message, err.key, traceId));
    }
    return { id: r.id, status: 'PATCHED', error: null, patchId: randomUUID() };
  });
}

class PatchError extends Error {
  readonly key: string;
  constructor(message: string, key = 'INVALID_PATCH') {
    super(message);
    this.key = key;
  }
}

const IMMUTABLE = new Set(['_id', '_event_time', '_meta']);
const ARRAY_INDEX = /^(0|[1-9]\d*)$/;

/** RFC 6901 pointer to reference tokens; the root pointer is refused (special fields are immutable). */
export function parsePointer(pointer: unknown, what = 'path'): string[] {
  if (typeof pointer !== 'string') throw new PatchError(`"${what}" must be a JSON pointer string`);
  if (pointer === '') throw new PatchError(`"${what}" must not point at the whole document`);
  if (!pointer.startsWith('/')) throw new PatchError(`"${what}" ${JSON.stringify(pointer)} is not a JSON pointer (must start with "/")`);
  const tokens = pointer
    .slice(1)
    .split('/')
    .map((t) => {
      if (/~[^01]|~$/.test(t)) throw new PatchError(`"${what}" ${JSON.stringify(pointer)} has an invalid ~ escape`);
      return t.replace(/~1/g, '/').replace(/~0/g, '~');
    });
  if (IMMUTABLE.has(tokens[0] ?? '')) throw new PatchError(`Special field ${tokens[0]} is immutable`, 'IMMUTABLE_FIELD');
  return tokens;
}

type Container = Doc | unknown[];

function isContainer(v: unknown): v is Container {
  return typeof v === 'object' && v !== null && !isRawJSON(v);
}

/** Walks to the parent of the last token; throws if an intermediate step is missing. */
function parentOf(doc: Doc, tokens: string[], pointer: string): { parent: Container; last: string } {
  let node: unknown = doc;
  for (let i = 0; i < tokens.length - 1; i++) {
    node = child(node, tokens[i] as string);
    if (node === undefined) throw new PatchError(`Path ${pointer} does not exist`, 'PATH_NOT_FOUND');
  }
  if (!isContainer(node)) throw new PatchError(`Path ${pointer} does not exist`, 'PATH_NOT_FOUND');
  return { parent: node, last: tokens[tokens.length - 1] as string };
}

function child(node: unknown, token: string): unknown {
  if (Array.isArray(node)) return ARRAY_INDEX.test(token) ? node[Number(token)] : undefined;
  if (isContainer(node)) return Object.hasOwn(node, token) ? (node as Doc)[token] : undefined;
  return undefined;
}

function getAt(doc: Doc, tokens: string[], pointer: string): unknown {
  const { parent, last } = parentOf(doc, tokens, pointer);
  const value = child(parent, last);
  if (value === undefined) throw new PatchError(`Path ${pointer} does not exist`, 'PATH_NOT_FOUND');
  return value;
}

function addAt(doc: Doc, tokens: string[], pointer: string, value: unknown): void {
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    if (last === '-') parent.push(value);
    else if (ARRAY_INDEX.test(last) && Number(last) <= parent.length) parent.splice(Number(last), 0, value);
    else throw new PatchError(`Array index in ${pointer} is out of bounds`, 'PATH_NOT_FOUND');
  } else {
    (parent as Doc)[last] = value;
  }
}

function removeAt(doc: Doc, tokens: string[], pointer: string): unknown {
  const { parent, last } = parentOf(doc, tokens, pointer);
  const value = child(parent, last);
  if (value === undefined) throw new PatchError(`Path ${pointer} does not exist`, 'PATH_NOT_FOUND');
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else delete (parent as Doc)[last];
  return value;
}

function replaceAt(doc: Doc, tokens: string[], pointer: string, value: unknown): void {
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (child(parent, last) === undefined) throw new PatchError(`Path ${pointer} does not exist`, 'PATH_NOT_FOUND');
  if (Array.isArray(parent)) parent[Number(last)] = value;
  else (parent as Doc)[last] = value;
}

const OPS = new Set(['add', 'replace', 'remove', 'copy', 'move', 'test', 'increment']);

interface CheckedOp {
  op: string;
  pointer: string;
  tokens: string[];
  value: unknown;
  raw: Doc;
}

function checkOp(raw: unknown): CheckedOp {
  if (!isObject(raw)) throw new PatchError('Each patch operation must be an object');
  const op = typeof raw['op'] === 'string' ? raw['op'].toLowerCase() : undefined;
  if (op === undefined || !OPS.has(op)) throw new PatchError(`Unknown patch op ${JSON.stringify(raw['op'])}`);
  const pointer = raw['path'] as string;
  const tokens = parsePointer(pointer);
  const needsValue = op === 'add' || op === 'replace' || op === 'test' || op === 'increment';
  if (needsValue && !('value' in raw)) throw new PatchError(`Patch op ${op} needs a "value"`);
  if (op === 'copy' || op === 'move') parsePointer(raw['from'], 'from');
  return { op, pointer, tokens, value: raw['value'], raw };
}

function checkPatchOps(ops: unknown[]): void {
  for (const raw of ops) checkOp(raw);
}

export function applyPatch(doc: Doc, ops: unknown[]): Doc {
  for (const item of ops) {
    const { op, pointer, tokens, value, raw } = checkOp(item);
    switch (op) {
      case 'add':
        addAt(doc, tokens, pointer, cloneJson(value));
        break;
      case 'replace':
        replaceAt(doc, tokens, pointer, cloneJson(value));
        break;
      case 'remove':
        removeAt(doc, tokens, pointer);
        break;
      case 'copy': {
        const from = parsePointer(raw['from'], 'from');
        addAt(doc, tokens, pointer, cloneJson(getAt(doc, from, raw['from'] as string)));
        break;
      }
      case 'move': {
        const fromPointer = raw['from'] as string;
        const from = parsePointer(fromPointer, 'from');
        if (pointer.startsWith(`${fromPointer}/`)) throw new PatchError(`Cannot move ${fromPointer} into its own child ${pointer}`);
        if (pointer !== fromPointer) addAt(doc, tokens, pointer, removeAt(doc, from, fromPointer));
        break;
      }
      case 'test':
        if (!jsonEqual(getAt(doc, tokens, pointer), value)) throw new PatchError(`Test failed: value at ${pointer} differs`, 'PATCH_TEST_FAILED');
        break;
      case 'increment': {
        const current = getAt(doc, tokens, pointer);
        replaceAt(doc, tokens, pointer, increment(current, value, pointer));
        break;
      }
    }
  }
  return doc;
}

function increment(current: unknown, by: unknown, pointer: string): unknown {
  const a = integerOf(current);
  const b = integerOf(by);
  // Integers add exactly (also past 2^53); anything fractional falls back to doubles.
  if (a !== undefined && b !== undefined) return fromInteger(a + b);
  if (typeof current === 'number' && typeof by === 'number') return current + by;
  if (typeof current !== 'number' && a === undefined) throw new PatchError(`Value at ${pointer} is not a number`, 'NOT_A_NUMBER');
  throw new PatchError('Increment "value" must be a number', 'NOT_A_NUMBER');
}
