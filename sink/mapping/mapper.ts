// Where records are mapped: on `threads` worker threads, or inline on the main thread
// (threads 0). The main thread keeps everything else (Kafka membership, per-partition
// order, writes, retries, commits), and it stays free while a batch is mapped, so the
// batches of several partitions map in parallel, one core each.
//
// Batches go to the thread with the fewest waiting; a partition's next batch is
// fetched only after its last one is committed, so order within a partition never
// depends on which thread maps what. A thread that dies (out of its heap on a huge
// record, a bug) costs nothing: its batches are mapped inline, as they would have
// been without threads, and a new thread takes its place.
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { SinkConfig } from '../config/schema.ts';
import type { SchemaRegistrySource } from '../decode/registry.ts';
import type { SchemaDecoders, SchemaInfo } from '../decode/schemas.ts';
import { mapRecord } from '../map.ts';
import type { SinkRecord } from '../record.ts';
import { planBatch, type MappedBatch } from '../batch.ts';
import { collectionRouter, framedBuffers, mapOptions } from './options.ts';
import { packRecords, unpackBatch } from './wire.ts';
import type { MapJob, MapReply } from './worker.ts';

export interface Mapper {
  /** Mapping threads (0: inline). */
  readonly threads: number;
  /** The records as write requests and the rest (after the registry source prepared their schemas). */
  map(records: SinkRecord[]): Promise<MappedBatch>;
  close(): Promise<void>;
}

export interface MapperOptions {
  threads: number;
  /** Old-generation heap of each thread (MiB). */
  threadHeapMb: number;
  log: Logger;
}

// Compiled to .js for the image, run as .ts from a clone.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

class WorkerDied extends Error {
  override name = 'WorkerDied';
}

interface Pending {
  resolve(reply: MapReply): void;
  reject(err: Error): void;
}

class MapThread {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  /** Schema ids this thread was sent for good (compiled, or unusable). */
  readonly knows = new Set<number>();
  dead = false;

  constructor(config: SinkConfig, heapMb: number, onDeath: (t: MapThread, err: Error) => void) {
    this.worker = new Worker(WORKER_URL, {
      workerData: { config },
      // Its own heap cap, inside the container's limit (operator/render/memory.ts); a thread out of it dies alone.
      resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
      stdout: false,
      stderr: false,
    });
    let failure: Error | undefined;
    this.worker.on('message', (reply: MapReply) => {
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      p?.resolve(reply);
    });
    this.worker.on('error', (err) => (failure = err));
    this.worker.on('exit', (code) => {
      this.dead = true;
      const err = new WorkerDied(`a mapping thread exited (code ${code}${failure ? `: ${failure.message}` : ''})`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      onDeath(this, err);
    });
  }
}

/**
 * A thread's young generation (MiB): little of a batch survives its mapping, so a small
 * one costs little more CPU and keeps RSS down (JSON drain peak 218 MB with 4 vs 228 MB
 * with 12, at the same speed, 2026-12-06).
 */
const YOUNG_GENERATION_MB = 4;

export async function createMapper(config: SinkConfig, registry: SchemaRegistrySource | undefined, opts: MapperOptions): Promise<Mapper> {
  // avsc and protobufjs (~5 MB of RSS) are loaded only by a sink that reads framed formats.
  const schemaModule = registry ? await import('../decode/schemas.ts') : undefined;
  const collectionFor = collectionRouter(config);
  // The main thread's own decoders, for threads 0 and for a batch whose thread died.
  let inline: { schemas?: SchemaDecoders; options: ReturnType<typeof mapOptions> } | undefined;
  const idsOf = (records: readonly SinkRecord[]): Set<number> => (schemaModule ? schemaModule.schemaIds(framedBuffers(config, records)) : new Set());
  const mapInline = (records: SinkRecord[]): MappedBatch => {
    if (!inline) {
      const schemas = schemaModule ? new schemaModule.SchemaDecoders() : undefined;
      inline = { schemas, options: mapOptions(config, schemas) };
    }
    const { schemas, options } = inline;
    if (schemas && registry) {
      schemas.startBatch();
      for (const id of idsOf(records)) if (!schemas.knows(id)) schemas.learn(id, registry.info(id));
    }
    return planBatch(records.map((r) => mapRecord(r, options)), config.batch);
  };

  if (opts.threads <= 0) {
    return { threads: 0, map: async (records) => mapInline(records), close: async () => undefined };
  }

  // The heap flags the operator renders (--max-old-space-size, --max-semi-space-size) are
  // V8's, process-wide, and V8 gives them precedence over a thread's resourceLimits: each
  // thread would get the main thread's whole heap. The main heap is configured by now, and
  // V8 reads these flags only when it configures a new isolate's heap, so clearing them
  // leaves the main thread as it is and makes each thread's own limit count.
  v8.setFlagsFromString('--max-old-space-size=0');
  v8.setFlagsFromString('--max-semi-space-size=0');
  let closed = false;
  let nextJob = 0;
  const threads: MapThread[] = [];
  const spawn = (): MapThread => new MapThread(config, opts.threadHeapMb, onDeath);
  function onDeath(t: MapThread, err: Error): void {
    if (closed) return;
    opts.log.warn({ error: err.message }, 'a mapping thread stopped; starting another (its batches are mapped on the main thread)');
    const i = threads.indexOf(t);
    if (i >= 0) threads[i] = spawn();
  }
  for (let i = 0; i < opts.threads; i++) threads.push(spawn());

  const send = (t: MapThread, records: SinkRecord[]): Promise<MapReply> => {
    const id = nextJob++;
    const schemas: [number, SchemaInfo][] = [];
    for (const sid of idsOf(records)) {
      if (t.knows.has(sid)) continue;
      const info = registry!.info(sid);
      schemas.push([sid, info]);
      if (!('unknown' in info)) t.knows.add(sid);
    }
    const { wire, transfer } = packRecords(records);
    const job: MapJob = { id, records: wire, schemas };
    return new Promise<MapReply>((resolve, reject) => {
      t.pending.set(id, { resolve, reject });
      t.worker.postMessage(job, transfer);
    });
  };

  return {
    threads: opts.threads,
    async map(records) {
      if (records.length === 0) return { requests: [], others: [] };
      let least = threads[0]!;
      for (const t of threads) if (t.pending.size < least.pending.size) least = t;
      let reply: MapReply;
      try {
        if (least.dead) throw new WorkerDied('no live mapping thread');
        reply = await send(least, records);
      } catch (err) {
        if (!(err instanceof WorkerDied)) throw err;
        return mapInline(records);
      }
      if ('error' in reply) {
        const err = new Error(reply.error.message);
        err.name = reply.error.name;
        err.stack = reply.error.stack;
        throw err;
      }
      return unpackBatch(reply.batch, records, collectionFor(records[0]!.topic));
    },
    async close() {
      closed = true;
      await Promise.all(threads.map((t) => t.worker.terminate()));
    },
  };
}
