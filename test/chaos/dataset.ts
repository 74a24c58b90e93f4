// The records a chaos scenario produces and the documents they must end as (pure).
// Keys are updated many times and sometimes deleted, so a write replayed out of
// order shows up as a stale document; some records have no key, so a replayed
// write that was not idempotent shows up as an extra one.
import { seededRandom } from '../unit/prng.ts';

export interface PlannedRecord {
  key: string | null;
  /** null: a tombstone. */
  value: string | Buffer | null;
  partition: number;
  timestamp: string;
  /** What the document should hold (without _id and _event_time); undefined for a tombstone or a poison record. */
  doc?: Record<string, unknown>;
  /** A record the sink must dead-letter: it never changes what is expected. */
  poison?: string;
}

export interface PlanOptions {
  records: number;
  partitions: number;
  /** Distinct keys; each is written about records / keys times. */
  keys: number;
  seed: number;
  /** Share of records without a key (default 0.1). */
  unkeyed?: number;
  /** Share of keyed records that are tombstones (default 0.03). */
  tombstones?: number;
  /** Bytes of filler per value (default 100). */
  pad?: number;
  /** A prefix that keeps two plans' keys apart on one topic. */
  prefix?: string;
  /** Timestamp (ms) of the first record; default now. Far in the past, time retention would delete the records under the sink. */
  baseTimestamp?: number;
}

export function planRecords(o: PlanOptions): PlannedRecord[] {
  const rnd = seededRandom(o.seed);
  const prefix = o.prefix ?? '';
  const out: PlannedRecord[] = [];
  const base = o.baseTimestamp ?? Date.now();
  for (let i = 0; i < o.records; i++) {
    const timestamp = String(base + i);
    if (rnd() < (o.unkeyed ?? 0.1)) {
      const doc = { k: null, v: i, pad: 'u'.repeat(o.pad ?? 100) };
      out.push({ key: null, value: JSON.stringify(doc), partition: i % o.partitions, timestamp, doc });
      continue;
    }
    const n = Math.floor(rnd() * o.keys);
    const key = `${prefix}k${n}`;
    // a key's records share a partition, as a keyed producer would put them
    const partition = n % o.partitions;
    if (rnd() < (o.tombstones ?? 0.03)) {
      out.push({ key, value: null, partition, timestamp });
      continue;
    }
    const doc = { k: key, v: i, pad: 'x'.repeat(o.pad ?? 100) };
    out.push({ key, value: JSON.stringify(doc), partition, timestamp, doc });
  }
  return out;
}

/** JSON with sorted keys, so documents compare by content whatever their key order. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object' && !(JSON as unknown as { isRawJSON(x: unknown): boolean }).isRawJSON(v)) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The documents a topic's records must end as, by `_id` (canonical JSON), given
 * the offset each record got. Applies the sink's rules: `_id` from the key, else
 * `<topic>-<partition>-<offset>`; `_event_time` from the record timestamp; a
 * tombstone deletes; a poison record changes nothing.
 */
export function expectedDocuments(topic: string, records: Array<PlannedRecord & { offset: number }>): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of records) {
    if (r.poison) continue;
    const id = r.key ?? `${topic}-${r.partition}-${r.offset}`;
    if (r.value === null) {
      out.delete(id);
      continue;
    }
    out.set(id, canonical({ ...r.doc, _id: id, _event_time: Number(r.timestamp) * 1000 }));
  }
  return out;
}

export interface Verdict {
  scenario: string;
  records: number;
  documents: number;
  missing: number;
  extra: number;
  stale: number;
  /** A few examples of each, for the failure message. */
  examples: string[];
}

export function compare(scenario: string, records: number, expected: Map<string, string>, actual: Array<Record<string, unknown>>): Verdict {
  const seen = new Set<string>();
  let extra = 0;
  let stale = 0;
  const examples: string[] = [];
  for (const doc of actual) {
    const id = String(doc._id);
    seen.add(id);
    const want = expected.get(id);
    if (want === undefined) {
      extra++;
      if (examples.length < 6) examples.push(`extra ${id}`);
    } else if (canonical(doc) !== want) {
      stale++;
      if (examples.length < 6) examples.push(`stale ${id}: got ${canonical(doc).slice(0, 120)} want ${want.slice(0, 120)}`);
    }
  }
  let missing = 0;
  for (const id of expected.keys()) {
    if (!seen.has(id)) {
      missing++;
      if (examples.length < 6) examples.push(`missing ${id}`);
    }
  }
  return { scenario, records, documents: actual.length, missing, extra, stale, examples };
}

export function summaryLine(v: Verdict): string {
  return `chaos: ${v.scenario} records=${v.records} documents=${v.documents} missing=${v.missing} extra=${v.extra} stale=${v.stale}`;
}
