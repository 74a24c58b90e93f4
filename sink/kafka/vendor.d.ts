// Minimal types for the untyped pure-JS compression packages used by codecs.ts.

declare module 'snappyjs' {
  /** Raw snappy block (no framing). Buffer in, Buffer out. */
  export function compress(input: Buffer): Buffer;
  /** Throws 'Invalid Snappy bitstream' on malformed input, or when the declared length exceeds maxLength. */
  export function uncompress(input: Buffer, maxLength?: number): Buffer;
}

declare module 'lz4js' {
  /** Upper bound of compressBlock's output for n input bytes. */
  export function compressBound(n: number): number;
  /** Compresses src[sIndex, sIndex+sLength) as one raw LZ4 block into dst; returns its length, 0 if it found nothing to compress. */
  export function compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
}

declare module 'lz4js/xxh32.js' {
  /** XXH32 of src[index, index+length) (signed 32-bit result; use >>> 0). */
  export function hash(seed: number, src: Uint8Array, index: number, length: number): number;
}
