// A mapping thread: turns the records of one partition batch at a time into
// actions (sink/map.ts, the same pure function the main thread runs inline), cuts
// them into write requests (sink/batch.ts) and sends them back, bodies built. It does no I/O: the main thread fetches writer schemas and sends
// each thread the ones it has not seen; they are compiled here, once per thread.
import { parentPort, workerData } from 'node:worker_threads';
import type { SinkConfig } from '../config/schema.ts';
import type { SchemaDecoders, SchemaInfo } from '../decode/schemas.ts';
import { mapRecord } from '../map.ts';
import { mapOptions, usesSchemas } from './options.ts';
import { planBatch } from '../batch.ts';
import { packBatch, unpackRecords, type BatchWire, type RecordsWire } from './wire.ts';

export interface MapJob {
  id: number;
  records: RecordsWire;
  /** Writer schemas (or the registry's answer) for the ids in these records this thread has not been sent for good. */
  schemas: [number, SchemaInfo][];
}

export type MapReply = { id: number; batch: BatchWire } | { id: number; error: { name: string; message: string; stack?: string } };

const config = (workerData as { config: SinkConfig }).config;
// avsc and protobufjs are loaded only by a sink that reads framed formats.
const schemas: SchemaDecoders | undefined = usesSchemas(config) ? new (await import('../decode/schemas.ts')).SchemaDecoders() : undefined;
const options = mapOptions(config, schemas);
const port = parentPort!;

port.on('message', (job: MapJob) => {
  let reply: MapReply;
  let transfer: ArrayBuffer[] = [];
  try {
    schemas?.startBatch();
    for (const [id, info] of job.schemas) schemas?.learn(id, info);
    const actions = unpackRecords(job.records).map((r) => mapRecord(r, options));
    const packed = packBatch(actions, planBatch(actions, config.batch));
    reply = { id: job.id, batch: packed.wire };
    transfer = packed.transfer;
  } catch (err) {
    const e = err as Error;
    reply = { id: job.id, error: { name: e.name, message: e.message, stack: e.stack } };
  }
  port.postMessage(reply, transfer);
});
