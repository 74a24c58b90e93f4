// Compression codecs kafkajs 2.x lacks. Its core knows only gzip: a fetched batch
// compressed with snappy, lz4 or zstd throws KafkaJSNotImplemented and crashes the
// consumer. These are pure JS / Node builtins, so the image needs no native addons.
//
// Every codec must read what Kafka's Java client (and librdkafka) writes, and write
// what the Java client reads: whoever is on the other side of a topic may be Java.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import kafkajs from 'kafkajs';
import { compress as snappyBlock, uncompress as unsnappyBlock } from 'snappyjs';
import { compressBlock as lz4Block, compressBound as lz4Bound } from 'lz4js';
import { hash as xxh32 } from 'lz4js/xxh32.js';

type Transform = (data: Buffer) => Buffer | Promise<Buffer>;

/** The shape kafkajs expects behind CompressionCodecs[type](). */
interface KafkaJsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}

/** Told the compressed and decompressed size of every batch kafkajs decompresses. */
export type DecompressionMeter = (compressedBytes: number, decompressedBytes: number) => void;
let meter: DecompressionMeter | undefined;

/**
 * Watches every batch decompressed in this process, whatever the codec (kafkajs's codec
 * table is process-wide, so is this). Kafka's fetch limits count compressed bytes, and
 * kafkajs decompresses a whole fetch at once: the ratio is what a fetch costs in memory.
 */
export function meterDecompression(m: DecompressionMeter | undefined): void {
  meter = m;
}

// A broken payload must say which codec refused it: the sink treats the batch as broken.
function codec(name: string, compress: Transform, decompress: Transform): () => KafkaJsCodec {
  const fail = (what: string, err: unknown): Error =>
    new Error(`${name} ${what} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  const impl: KafkaJsCodec = {
    async compress(encoder) {
      try {
        return await compress(encoder.buffer);
      } catch (err) {
        throw fail('compression', err);
      }
    },
    async decompress(data) {
      let out: Buffer;
      try {
        out = await decompress(data);
      } catch (err) {
        throw fail('decompression', err);
      }
      meter?.(data.length, out.length);
      return out;
    },
  };
  return () => impl;
}

// ---- Snappy ----------------------------------------------------------------
// The Java client wraps snappy in snappy-java's "xerial" stream framing: 8-byte magic,
// int32 version, int32 min-compatible version (both 1, big-endian), then chunks of
// int32-BE length + raw snappy block. librdkafka and others send one raw block.
// A raw block can never start with the magic (0x82 0x53 as a length varint followed by
// 'N' = a copy tag at output position 0, which is invalid), so sniffing is safe; it is
// also what snappy-java itself does.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = Buffer.concat([XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])]);
const XERIAL_CHUNK = 32 * 1024; // snappy-java's default block size

const isXerial = (data: Buffer, at: number): boolean =>
  data.length - at >= XERIAL_MAGIC.length && XERIAL_MAGIC.equals(data.subarray(at, at + XERIAL_MAGIC.length));

// A raw block starts with its uncompressed length; snappyjs would allocate whatever a
// corrupt length says (up to 4 GiB). Snappy expands at most ~21x (3-byte copy -> 64
// bytes), so anything claiming more than 32x is corrupt.
const unsnappy = (block: Buffer): Buffer => unsnappyBlock(block, 32 * block.length + 64);

function snappyDecompress(data: Buffer): Buffer {
  if (!isXerial(data, 0)) return unsnappy(data);
  const out: Buffer[] = [];
  let p = 0;
  while (p < data.length) {
    // snappy-java accepts concatenated streams: a header may reappear between chunks
    // (a chunk length never starts with 0x82, that would be over 2 GiB)
    if (isXerial(data, p)) {
      if (data.length - p < XERIAL_HEADER.length) throw new Error('truncated xerial header');
      p += XERIAL_HEADER.length;
      continue;
    }
    if (data.length - p < 4) throw new Error('truncated xerial chunk length');
    const n = data.readUInt32BE(p);
    p += 4;
    if (data.length - p < n) throw new Error(`xerial chunk of ${n} bytes but only ${data.length - p} left`);
    out.push(unsnappy(data.subarray(p, p + n)));
    p += n;
  }
  return Buffer.concat(out);
}

function snappyCompress(data: Buffer): Buffer {
  const out: Buffer[] = [XERIAL_HEADER];
  for (let s = 0; s < data.length; s += XERIAL_CHUNK) {
    const block = snappyBlock(data.subarray(s, s + XERIAL_CHUNK));
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(block.length);
    out.push(len, block);
  }
  return Buffer.concat(out);
}

// ---- LZ4 -------------------------------------------------------------------
// Kafka uses the LZ4 frame format: magic 0x184D2204 (LE), FLG, BD, [content size u64],
// HC, then blocks (u32-LE length, high bit = stored uncompressed, [xxh32]) up to a zero
// end mark, [content xxh32]. Java writes FLG 0x60 (v1, independent blocks, no checksums),
// BD 0x40 (64 KiB blocks), and rejects frames without the block-independence bit.
//
// lz4js is not used for frames: its decompress() verifies no checksum and has no bounds
// checks (a truncated frame reads `undefined` as a zero end mark and silently returns part
// of the data; a bad match offset copies zeros), and its compress() writes FLG 0x40
// (dependent blocks, which Java refuses) with 4 MiB blocks sharing one match table. Only
// its block compressor and xxh32 are used; blocks are decoded here with bounds checks.
const LZ4_MAGIC = 0x184d2204;
const LZ4_FLG = 0x60;
const LZ4_BD = 0x40;
// lz4js may start the last match 10 bytes before the end of a block, where the spec says
// 12; strict decoders (liblz4, as lz4-java uses) only object when the block also fills
// their 64 KiB output buffer, so blocks are kept a little short of it.
const LZ4_BLOCK_INPUT = 0x10000 - 16;

function lz4Compress(data: Buffer): Buffer {
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, LZ4_FLG, LZ4_BD, 0]);
  header[6] = (xxh32(0, header, 4, 2) >>> 8) & 0xff;
  const out: Buffer[] = [header];
  const table = new Uint32Array(1 << 16);
  const scratch = Buffer.allocUnsafe(lz4Bound(LZ4_BLOCK_INPUT));
  for (let s = 0; s < data.length; s += LZ4_BLOCK_INPUT) {
    const block = data.subarray(s, s + LZ4_BLOCK_INPUT);
    table.fill(0); // a fresh match table per block keeps blocks independent
    const n = lz4Block(block, scratch, 0, block.length, table);
    const len = Buffer.allocUnsafe(4);
    if (n > 0 && n < block.length) {
      len.writeUInt32LE(n);
      out.push(len, Buffer.from(scratch.subarray(0, n)));
    } else {
      len.writeUInt32LE((block.length | 0x80000000) >>> 0); // stored: incompressible
      out.push(len, block);
    }
  }
  out.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(out);
}

function lz4Decompress(src: Buffer): Buffer {
  if (src.length < 7 || src.readUInt32LE(0) !== LZ4_MAGIC) throw new Error('not an LZ4 frame (bad magic number)');
  const flg = src[4]!;
  const bsId = (src[5]! >>> 4) & 7;
  if (flg >>> 6 !== 1) throw new Error(`unsupported LZ4 frame version ${flg >>> 6}`);
  if (bsId < 4) throw new Error(`invalid LZ4 block size id ${bsId}`);
  const maxBlock = 1 << (2 * bsId + 8);
  const independent = (flg & 0x20) !== 0;
  const blockSums = (flg & 0x10) !== 0;
  const hasSize = (flg & 0x08) !== 0;
  const contentSum = (flg & 0x04) !== 0;
  let p = 6 + (hasSize ? 8 : 0) + (flg & 0x01 ? 4 : 0); // bit 0: dictionary id follows
  if (p >= src.length) throw new Error('truncated LZ4 frame descriptor');
  // HC is the 2nd byte of xxh32(descriptor). Kafka's old message format (magic 0) hashed
  // the magic too (KAFKA-3160); Java still accepts that there, so accept both.
  const hc = src[p]!;
  if (hc !== ((xxh32(0, src, 4, p - 4) >>> 8) & 0xff) && hc !== ((xxh32(0, src, 0, p) >>> 8) & 0xff)) {
    throw new Error('LZ4 frame descriptor checksum mismatch');
  }
  p++;

  // First pass: find the blocks (and so the output size) and check their framing.
  const blocks: { at: number; len: number; stored: boolean }[] = [];
  let capacity = 0;
  for (;;) {
    if (src.length - p < 4) throw new Error('truncated LZ4 frame (no end mark)');
    const word = src.readUInt32LE(p);
    p += 4;
    if (word === 0) break;
    const len = word & 0x7fffffff;
    const stored = word >>> 31 === 1;
    if (len > maxBlock) throw new Error(`LZ4 block of ${len} bytes exceeds the frame's ${maxBlock}`);
    if (src.length - p < len + (blockSums ? 4 : 0)) throw new Error('truncated LZ4 block');
    if (blockSums && xxh32(0, src, p, len) >>> 0 !== src.readUInt32LE(p + len)) throw new Error('LZ4 block checksum mismatch');
    blocks.push({ at: p, len, stored });
    capacity += stored ? len : maxBlock;
    p += len + (blockSums ? 4 : 0);
  }
  if (contentSum && src.length - p < 4) throw new Error('truncated LZ4 content checksum');
  // Like Java, bytes after the end mark (and its checksum) are ignored.

  const out = Buffer.allocUnsafe(capacity); // every byte below d is written before it is read or returned
  let d = 0;
  for (const b of blocks) {
    if (b.stored) d += src.copy(out, d, b.at, b.at + b.len);
    else d = lz4DecodeBlock(src, b.at, b.at + b.len, out, d, independent ? d : 0, d + maxBlock);
  }
  if (hasSize && src.readBigUInt64LE(6) !== BigInt(d)) throw new Error('LZ4 content size mismatch');
  if (contentSum && xxh32(0, out, 0, d) >>> 0 !== src.readUInt32LE(p)) throw new Error('LZ4 content checksum mismatch');
  return out.subarray(0, d);
}

/** Decodes the raw LZ4 block src[s, end) into out[d, limit); matches may not reach below floor. Returns the new d. */
function lz4DecodeBlock(src: Buffer, s: number, end: number, out: Buffer, d: number, floor: number, limit: number): number {
  const corrupt = (why: string): Error => new Error(`corrupt LZ4 block: ${why}`);
  for (;;) {
    if (s >= end) throw corrupt('ends with a match, not literals');
    const token = src[s++]!;
    let n = token >>> 4;
    if (n === 15) {
      for (let b = 255; b === 255; n += b) {
        if (s >= end) throw corrupt('literal length runs past the block');
        b = src[s++]!;
      }
    }
    if (n > end - s || n > limit - d) throw corrupt('literals run past the block');
    d += src.copy(out, d, s, s + n);
    s += n;
    if (s === end) return d; // the last sequence is literals only
    if (end - s < 2) throw corrupt('truncated match offset');
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (offset === 0 || d - offset < floor) throw corrupt(`match offset ${offset} out of range`);
    let m = token & 15;
    if (m === 15) {
      for (let b = 255; b === 255; m += b) {
        if (s >= end) throw corrupt('match length runs past the block');
        b = src[s++]!;
      }
    }
    m += 4;
    if (m > limit - d) throw corrupt('match runs past the block size');
    // byte by byte: an overlapping match (offset < length) repeats its own output
    for (let i = d - offset, stop = d + m; d < stop; ) out[d++] = out[i++]!;
  }
}

// ---- ZSTD ------------------------------------------------------------------
// Node's zstd bindings decode with the streaming API, so frames without a content size
// (what zstd-jni's ZstdOutputStream in the Java client writes) decode like any other.
const zstdCompress = promisify(zlib.zstdCompress);
const zstdDecompress = promisify(zlib.zstdDecompress);

// ---- GZIP ------------------------------------------------------------------
// What kafkajs's own gzip codec does (zlib.gzip / zlib.unzip), here so it is metered too.
const gzipCompress = promisify(zlib.gzip);
const gzipDecompress = promisify(zlib.unzip);

const gzip = codec('gzip', (data) => gzipCompress(data), (data) => gzipDecompress(data));
const snappy = codec('snappy', snappyCompress, snappyDecompress);
const lz4 = codec('lz4', lz4Compress, lz4Decompress);
const zstd = codec('zstd', (data) => zstdCompress(data), (data) => zstdDecompress(data));

// kafkajs is CommonJS and builds its exports in a way Node's ESM named-export detection
// misses (Kafka itself is found, CompressionCodecs is not), hence the default import.
const { CompressionCodecs, CompressionTypes } = kafkajs;

/** Teaches kafkajs snappy, lz4 and zstd (both directions), and meters gzip. Safe to call more than once. */
export function registerCompressionCodecs(): void {
  CompressionCodecs[CompressionTypes.GZIP] = gzip;
  CompressionCodecs[CompressionTypes.Snappy] = snappy;
  CompressionCodecs[CompressionTypes.LZ4] = lz4;
  CompressionCodecs[CompressionTypes.ZSTD] = zstd;
}
