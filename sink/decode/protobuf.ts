// Protobuf record values framed by a Confluent Schema Registry, decoded into
// Rockset documents. The caller strips the magic byte and schema id; what is
// left is the Confluent "message indexes" followed by the protobuf message.
//
// Message indexes: a zigzag varint count N, then N zigzag varint indexes. The
// first index picks a top-level message type of the schema file (declaration
// order, counting messages only: enums, services and extensions do not count),
// each further index a message type nested in the previous one (map fields'
// synthetic entry types do not count, as in Confluent's Java serializer). The
// single byte 0 (count 0) means [0], the first message type.
//
// Payloads without message indexes: @kafkajs/confluent-schema-registry 4.x
// (`SchemaRegistry.encode`) writes the bare protobuf message, and decodes by
// stripping leading zero bytes. When the indexes do not name a message type and
// the first byte is a plausible protobuf tag (field number >= 1, known wire type),
// or the payload is empty, the payload is decoded as the first message type.
// Confluent-framed payloads with up to 3 indexes can never take this path: their
// first byte (2, 4 or 6) is a tag of field number 0, which protobuf forbids.
//
// Schemas: one .proto file's text, parsed once with protobufjs (field names kept
// as declared, not camelCased). Imports are limited to the well-known types
// protobufjs bundles: google/protobuf/{timestamp,duration,wrappers,struct,empty,
// any,field_mask}.proto. Other imports (schema references) are refused when the
// schema is compiled.
//
// Mapping (document keys are the field names as declared in the .proto file):
//
// | Protobuf                                      | Rockset document (JSON)                                               |
// |-----------------------------------------------|-----------------------------------------------------------------------|
// | int32, uint32, sint32, fixed32, sfixed32      | number                                                                |
// | double                                        | number; -0.0 stays -0.0; NaN, Infinity, -Infinity -> null             |
// | float                                         | number, the shortest decimal that reads back as the same float32      |
// |                                               | (0.1f -> 0.1, not 0.10000000149011612); -0.0 stays -0.0; NaN,         |
// |                                               | +-Infinity -> null (one rule with Avro: sink/decode/numbers.ts)       |
// | int64, uint64, sint64, fixed64, sfixed64      | number, exact at any magnitude: a JS number while a safe integer      |
// |                                               | (|v| < 2^53), beyond that the exact digits (JSON.rawJSON), still a    |
// |                                               | JSON number, so a field keeps one JSON type whatever its value        |
// | bool                                          | true / false                                                          |
// | string                                        | string                                                                |
// | bytes                                         | base64 string (standard alphabet, padded)                             |
// | enum                                          | value name string (aliases: the first name); a number the enum does   |
// |                                               | not define -> that number                                             |
// | google.protobuf.NullValue (enum)              | null                                                                  |
// | message                                       | object; unset -> null                                                 |
// | repeated T                                    | array (unset -> [])                                                   |
// | map<K, V>                                     | object with the keys as strings (64-bit keys as exact decimal digits, |
// |                                               | bool keys "true"/"false"); unset -> {}; an entry without a value gets |
// |                                               | V's default (a message value: the empty message)                      |
// | oneof                                         | only the member that is set, under its own name; unset members are    |
// |                                               | absent (proto3 JSON mapping), not null                                |
// | proto3 singular scalar/enum (no presence)     | always present; unset -> the type default (0, "", false, first enum   |
// |                                               | value name, "" for bytes), so every document has the same fields      |
// | proto3 `optional`, proto2 `optional`          | unset -> null (declared [default = ...] values are not applied)       |
// | proto2 `required` missing                     | decode error                                                          |
// | google.protobuf.Timestamp                     | {"__rockset_type":"timestamp","value":<microseconds since epoch>}:    |
// |                                               | seconds*1e6 + floor(nanos/1000), exact (BigInt beyond 2^53, then raw  |
// |                                               | digits), negative before 1970                                         |
// | google.protobuf.Duration                      | string in protobuf JSON form: "1.500s", "-0.000001s", "3s"            |
// |                                               | (fraction of 0, 3, 6 or 9 digits)                                     |
// | google.protobuf.{Double,Float,Int64,UInt64,   | the wrapped value, mapped as its scalar above (Int64/UInt64 exact,    |
// |   Int32,UInt32,Bool,String,Bytes}Value        | Bytes base64); unset -> null; set but empty -> the scalar's default   |
// | google.protobuf.Struct                        | object                                                                |
// | google.protobuf.Value                         | the JSON value it holds (no kind set -> null; NaN/Infinity -> null)   |
// | google.protobuf.ListValue                     | array                                                                 |
// | google.protobuf.Empty                         | {}                                                                    |
// | google.protobuf.Any                           | {"@type": <type_url>, "value": <base64 of the packed bytes>} (the     |
// |                                               | packed type is not in the schema, so it is not unpacked)              |
// | google.protobuf.FieldMask                     | an ordinary message: {"paths": [...]}                                 |
//
// Unknown fields (written by a newer schema) are skipped. If the bytes carry
// several members of one oneof (never written by a conforming encoder), all of
// them appear. Field order in a document is declaration order.
//
// Bad bytes: truncated values, lengths past the end of a message, invalid wire
// types, missing proto2 required fields and bad message indexes throw
// ProtobufDecodeError. protobufjs is lenient in two ways this module inherits:
// it does not check a field's wire type against its declared type (such bytes
// usually fail further on, but may decode into wrong values), and strings with
// invalid UTF-8 decode with U+FFFD replacement characters. (Its Node reader
// would also silently cut strings running past the end; CheckedReader fixes that.)
//
// Speed: the schema is parsed once; protobufjs generates a decoder per message
// type, and each type gets a converter built once (a flat list of per-field
// converters chosen from the field's type), so a record costs one decode and
// one walk over its fields, without reflection.
import protobuf from 'protobufjs';
import { NestingTooDeep, isStackOverflow } from './depth.ts';
import { float32, float64 } from './numbers.ts';
import type { Enum as PbEnum, Field as PbField, MapField as PbMapField, Namespace as PbNamespace, Type as PbType } from 'protobufjs';

/** Bytes that do not decode: corrupt or truncated protobuf, message indexes naming no message type. */
export class ProtobufDecodeError extends Error {
  override name = 'ProtobufDecodeError';
}

/** A schema text that cannot be compiled: syntax errors, unresolved types, unsupported imports. */
export class ProtobufSchemaError extends Error {
  override name = 'ProtobufSchemaError';
}

type Msg = Record<string, unknown>;
type Convert = (v: never) => unknown;
interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
}

const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;
const TWO_32 = 4294967296;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

// ---------------------------------------------------------------- scalars

function bitsToBigInt(low: number, high: number, unsigned: boolean): bigint {
  const b = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
  return unsigned ? b : BigInt.asIntN(64, b);
}

/**
 * high*2^32 is exact in a double and the sum is correctly rounded, so the
 * result is a safe integer exactly when the true value is one; a rounded
 * result is always >= 2^53 in magnitude, never safe.
 */
function longToNumber(v: LongLike): number {
  return (v.unsigned ? v.high >>> 0 : v.high | 0) * TWO_32 + (v.low >>> 0);
}

function bigToJson(b: bigint): unknown {
  return b >= -MAX_SAFE && b <= MAX_SAFE ? Number(b) : rawJSON(b.toString());
}

function int64(v: LongLike | number): unknown {
  if (typeof v === 'number') return v; // protobufjs' own defaults (map entries without a value)
  const n = longToNumber(v);
  return Number.isSafeInteger(n) ? n : rawJSON(bitsToBigInt(v.low, v.high, v.unsigned).toString());
}

function toBigInt(v: LongLike | number): bigint {
  return typeof v === 'number' ? BigInt(v) : bitsToBigInt(v.low, v.high, v.unsigned);
}

function base64(v: Uint8Array | readonly number[]): string {
  return Buffer.isBuffer(v) ? v.toString('base64') : Buffer.from(v as Uint8Array).toString('base64');
}

function scalarConverter(type: string): Convert | null {
  switch (type) {
    case 'double':
      return float64;
    case 'float':
      return float32;
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return int64;
    case 'bytes':
      return base64;
    default:
      return null; // int32 family, bool, string: as decoded
  }
}

/** Sets a key that may be "__proto__" (a map or Struct key) as an own property. */
function setKey(o: Msg, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** protobufjs keys 64-bit map entries by an 8-char binary "hash" of the bits; back to exact decimal. */
function longKeyConverter(unsigned: boolean): (k: string) => string {
  return (k) => {
    if (k.length !== 8) return k; // a default key (entry without one) stays "0"
    const lo = k.charCodeAt(0) | (k.charCodeAt(1) << 8) | (k.charCodeAt(2) << 16) | (k.charCodeAt(3) << 24);
    const hi = k.charCodeAt(4) | (k.charCodeAt(5) << 8) | (k.charCodeAt(6) << 16) | (k.charCodeAt(7) << 24);
    return bitsToBigInt(lo, hi, unsigned).toString();
  };
}

// ------------------------------------------------------- the compiled schema

const IMPLICIT = 0; // proto3 scalar without presence: always written, default when unset
const EXPLICIT = 1; // has presence (message, `optional`, proto2): null when unset
const ONEOF = 2; // member of a real oneof: absent when unset
const REPEATED = 3;
const MAP = 4;

interface FieldPlan {
  name: string;
  mode: number;
  convert: Convert | null; // null: the decoded value as is
  key: ((k: string) => string) | null; // MAP: key conversion
  missing: (() => unknown) | null; // MAP: value for an entry without one (message values)
}

interface Node {
  type: PbType;
  children: Node[] | undefined; // nested message types, listed on first use
  convert: ((m: Msg) => unknown) | undefined; // built on first use
}

function messageTypes(ns: PbNamespace): PbType[] {
  return ns.nestedArray.filter((o): o is PbType => o instanceof protobuf.Type);
}

function newNode(type: PbType): Node {
  return { type, children: undefined, convert: undefined };
}

function childrenOf(node: Node): Node[] {
  return (node.children ??= messageTypes(node.type).map(newNode));
}

class Compiled {
  readonly #converters = new Map<PbType, (m: Msg) => unknown>();

  converter(type: PbType): (m: Msg) => unknown {
    let c = this.#converters.get(type);
    if (c) return c;
    c = this.#wellKnown(type);
    if (c) {
      this.#converters.set(type, c);
      return c;
    }
    const plans: FieldPlan[] = [];
    c = (m: Msg): unknown => {
      const out: Msg = {};
      for (let i = 0; i < plans.length; i++) {
        const p = plans[i]!;
        const name = p.name;
        switch (p.mode) {
          case IMPLICIT: {
            const v = m[name];
            out[name] = p.convert === null ? v : p.convert(v as never);
            break;
          }
          case EXPLICIT:
            out[name] = Object.hasOwn(m, name) ? (p.convert === null ? m[name] : p.convert(m[name] as never)) : null;
            break;
          case ONEOF:
            if (Object.hasOwn(m, name)) out[name] = p.convert === null ? m[name] : p.convert(m[name] as never);
            break;
          case REPEATED:
            if (Object.hasOwn(m, name)) {
              const arr = m[name] as unknown[];
              out[name] = p.convert === null ? arr : arr.map(p.convert as (v: unknown) => unknown);
            } else out[name] = [];
            break;
          default:
            out[name] = Object.hasOwn(m, name) ? convertMap(m[name] as Msg, p) : {};
        }
      }
      return out;
    };
    this.#converters.set(type, c); // before the fields: recursive types find it
    for (const field of type.fieldsArray) plans.push(this.#plan(field));
    return c;
  }

  #plan(field: PbField): FieldPlan {
    const resolved = field.resolvedType;
    const plan: FieldPlan = { name: field.name, mode: IMPLICIT, convert: this.#valueConverter(field), key: null, missing: null };
    if (field.map) {
      plan.mode = MAP;
      const keyType = (field as unknown as PbMapField).keyType;
      if (scalarConverter(keyType) === int64) plan.key = longKeyConverter(keyType === 'uint64' || keyType === 'fixed64');
      if (resolved instanceof protobuf.Type) {
        const convert = plan.convert as Convert;
        plan.missing = () => convert(resolved.create() as never);
      }
    } else if (field.repeated) plan.mode = REPEATED;
    else if (field.partOf && !field.options?.['proto3_optional']) plan.mode = ONEOF;
    else if (field.hasPresence || resolved instanceof protobuf.Type) plan.mode = EXPLICIT;
    return plan;
  }

  #valueConverter(field: PbField): Convert | null {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) return this.converter(resolved) as Convert;
    if (resolved instanceof protobuf.Enum) return enumConverter(resolved);
    return scalarConverter(field.type);
  }

  #wellKnown(type: PbType): ((m: Msg) => unknown) | undefined {
    const name = type.fullName;
    if (!name.startsWith('.google.protobuf.')) return undefined;
    const f = (id: number): string => {
      const field = type.fieldsById[id];
      if (!field) throw new ProtobufSchemaError(`${name.slice(1)} has no field ${id}; is it the well-known type?`);
      return field.name;
    };
    switch (name) {
      case '.google.protobuf.Timestamp': {
        const [s, ns] = [f(1), f(2)];
        return (m) => ({ __rockset_type: 'timestamp', value: timestampMicros(m[s] as LongLike | number, m[ns] as number) });
      }
      case '.google.protobuf.Duration': {
        const [s, ns] = [f(1), f(2)];
        return (m) => durationString(m[s] as LongLike | number, m[ns] as number);
      }
      case '.google.protobuf.DoubleValue':
      case '.google.protobuf.FloatValue':
      case '.google.protobuf.Int64Value':
      case '.google.protobuf.UInt64Value':
      case '.google.protobuf.Int32Value':
      case '.google.protobuf.UInt32Value':
      case '.google.protobuf.BoolValue':
      case '.google.protobuf.StringValue':
      case '.google.protobuf.BytesValue': {
        const value = type.fieldsById[1];
        if (!value) return undefined;
        const v = value.name;
        const convert = scalarConverter(value.type) as ((x: unknown) => unknown) | null;
        // unset value: the prototype holds the scalar's default
        return convert === null ? (m) => m[v] : (m) => convert(m[v]);
      }
      case '.google.protobuf.Struct': {
        const fields = f(1);
        const valueType = type.root.lookupType('.google.protobuf.Value');
        let value: ((m: Msg) => unknown) | undefined;
        return (m) => {
          const out: Msg = {};
          if (!Object.hasOwn(m, fields)) return out;
          const map = m[fields] as Record<string, Msg | null>;
          value ??= this.converter(valueType);
          for (const k of Object.keys(map)) {
            const v = map[k];
            setKey(out, k, v ? value(v) : null); // an entry without a value: Value with no kind
          }
          return out;
        };
      }
      case '.google.protobuf.Value': {
        const [num, str, bool, struct, list] = [f(2), f(3), f(4), f(5), f(6)];
        const structType = type.root.lookupType('.google.protobuf.Struct');
        const listType = type.root.lookupType('.google.protobuf.ListValue');
        return (m) => {
          if (Object.hasOwn(m, num)) return float64(m[num] as number);
          if (Object.hasOwn(m, str)) return m[str];
          if (Object.hasOwn(m, bool)) return m[bool];
          if (Object.hasOwn(m, struct)) return this.converter(structType)(m[struct] as Msg);
          if (Object.hasOwn(m, list)) return this.converter(listType)(m[list] as Msg);
          return null; // null_value, or no kind set
        };
      }
      case '.google.protobuf.ListValue': {
        const values = f(1);
        const valueType = type.root.lookupType('.google.protobuf.Value');
        return (m) => (Object.hasOwn(m, values) ? (m[values] as Msg[]).map(this.converter(valueType)) : []);
      }
      case '.google.protobuf.Empty':
        return () => ({});
      case '.google.protobuf.Any': {
        const [url, value] = [f(1), f(2)];
        return (m) => ({ '@type': m[url], value: base64(m[value] as Uint8Array) });
      }
      default:
        return undefined;
    }
  }
}

function enumConverter(e: PbEnum): Convert {
  if (e.fullName === '.google.protobuf.NullValue') return () => null;
  const names = new Map<number, string>();
  for (const [name, id] of Object.entries(e.values)) if (!names.has(id)) names.set(id, name); // aliases: the first name
  return ((n: number) => names.get(n) ?? n) as Convert;
}

function convertMap(map: Msg, p: FieldPlan): Msg {
  const out: Msg = {};
  const convert = p.convert as ((v: unknown) => unknown) | null;
  for (const k of Object.keys(map)) {
    const v = map[k];
    const value = v === null && p.missing !== null ? p.missing() : convert === null ? v : convert(v);
    setKey(out, p.key === null ? k : p.key(k), value);
  }
  return out;
}

// ------------------------------------------------------------ time values

function timestampMicros(seconds: LongLike | number, nanos: number): unknown {
  const micros = Math.floor(nanos / 1000);
  const s = typeof seconds === 'number' ? seconds : longToNumber(seconds);
  // |s| <= 9e9: s*1e6 + micros stays below 2^53, every step exact
  if (Math.abs(s) <= 9e9) return s * 1e6 + micros;
  return bigToJson(toBigInt(seconds) * 1_000_000n + BigInt(micros));
}

function durationString(seconds: LongLike | number, nanos: number): string {
  const total = toBigInt(seconds) * 1_000_000_000n + BigInt(nanos); // exact even if the signs disagree
  const abs = total < 0n ? -total : total;
  const whole = abs / 1_000_000_000n;
  const frac = Number(abs % 1_000_000_000n);
  let fraction = '';
  if (frac !== 0) {
    const digits = String(frac).padStart(9, '0');
    fraction = `.${frac % 1_000_000 === 0 ? digits.slice(0, 3) : frac % 1000 === 0 ? digits.slice(0, 6) : digits}`;
  }
  return `${total < 0n ? '-' : ''}${whole}${fraction}s`;
}

// ----------------------------------------------------------- the schema

const SUPPORTED_IMPORTS = Object.keys(protobuf.common).filter((k) => k.endsWith('.proto'));

function parseSchema(schemaText: string): Node[] {
  if (!protobuf.util.Long) {
    throw new ProtobufSchemaError('protobufjs has no 64-bit integer support (the "long" package is missing): 64-bit fields would lose digits');
  }
  const root = new protobuf.Root();
  let parsed: protobuf.IParserResult;
  try {
    parsed = protobuf.parse(schemaText, root, { keepCase: true });
  } catch (err) {
    throw new ProtobufSchemaError(`the Protobuf schema does not parse: ${(err as Error).message}`);
  }
  const imports = new Set([...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]);
  for (const file of imports) {
    const json = protobuf.common.get(file);
    if (!json) {
      throw new ProtobufSchemaError(
        `the Protobuf schema imports "${file}", a schema reference this sink does not resolve; supported imports: ${SUPPORTED_IMPORTS.join(', ')}`,
      );
    }
    if (json.nested) root.addJSON(json.nested);
  }
  try {
    root.resolveAll();
  } catch (err) {
    throw new ProtobufSchemaError(`the Protobuf schema does not resolve: ${(err as Error).message}`);
  }
  const ns = parsed.package ? root.lookup(parsed.package) : root;
  const top = ns instanceof protobuf.Namespace ? messageTypes(ns) : [];
  if (top.length === 0) throw new ProtobufSchemaError('the Protobuf schema defines no message type');
  return top.map(newNode);
}

// ------------------------------------------------------------- decoding

/**
 * protobufjs' Node reader (BufferReader) cuts a string whose length runs past
 * the end of its message short instead of failing, so truncated or corrupt
 * bytes would decode; this one checks, as its plain Uint8Array reader does for
 * bytes fields.
 */
class CheckedReader extends protobuf.BufferReader {
  override string(): string {
    const length = this.uint32();
    const start = this.pos;
    const end = start + length;
    if (end > this.len) throw new RangeError(`index out of range: ${start} + ${length} > ${this.len}`);
    this.pos = end;
    const buf = this.buf as Buffer & { utf8Slice?(start: number, end: number): string };
    return buf.utf8Slice ? buf.utf8Slice(start, end) : buf.toString('utf8', start, end); // utf8Slice: what protobufjs uses, much faster
  }
}

let pos = 0; // read cursor of readZigzag (decoding is synchronous)

/** A zigzag varint of at most 32 bits (as Confluent's ByteUtils.readVarint), or undefined if truncated/too long. */
function readZigzag(buf: Uint8Array): number | undefined {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= buf.length) return undefined;
    const b = buf[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return value > 0xffffffff ? undefined : value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }
  return undefined;
}

/** The first byte of a bare protobuf message: field number >= 1 and a wire type that exists. */
function plausibleTag(b: number): boolean {
  const wire = b & 7;
  return (b & 0xf8) !== 0 && wire !== 4 && wire !== 6 && wire !== 7;
}

function showPath(path: number[]): string {
  return `[${path.join(', ')}]`;
}

/** Builds the decoder for a Protobuf schema text. Throws ProtobufSchemaError for a schema it cannot compile. */
export function compileProtobufDecoder(schemaText: string): (payloadWithIndexes: Buffer) => unknown {
  const top = parseSchema(schemaText);
  const compiled = new Compiled();
  const first = top[0]!;

  function decodeAs(node: Node, payload: Buffer, offset: number): unknown {
    let msg: Msg;
    try {
      msg = node.type.decode(new CheckedReader(offset === 0 ? payload : payload.subarray(offset))) as unknown as Msg;
    } catch (err) {
      if (isStackOverflow(err)) throw new NestingTooDeep();
      throw new ProtobufDecodeError(`the bytes do not decode as ${node.type.fullName.slice(1)}: ${(err as Error).message}`);
    }
    return (node.convert ??= compiled.converter(node.type))(msg);
  }

  /** The node the message indexes name (pos left after them), or why they name none. */
  function resolveIndexes(payload: Buffer): Node | string {
    pos = 0;
    const count = readZigzag(payload);
    if (count === undefined) return 'the message indexes are truncated or malformed';
    if (count === 0) return first;
    if (count < 0) return `the message index count ${count} is negative`;
    if (count > payload.length - pos) return `the message index count ${count} is more than the ${payload.length - pos} bytes after it`;
    let nodes = top;
    let node: Node | undefined;
    const path: number[] = [];
    for (let i = 0; i < count; i++) {
      const index = readZigzag(payload);
      if (index === undefined) return `the message indexes ${showPath(path)}... are truncated or malformed`;
      path.push(index);
      node = nodes[index];
      if (node === undefined) {
        const where = i === 0 ? 'the schema has' : `${showPath(path.slice(0, -1))} has`;
        const types = nodes.length === 1 ? '1 message type' : `${nodes.length} message types`;
        return `the message indexes ${showPath(path)} name no message type (${where} ${types}${i === 0 ? '' : ' nested'})`;
      }
      if (i < count - 1) nodes = childrenOf(node);
    }
    return node!;
  }

  return (payload: Buffer): unknown => {
    if (payload.length > 0 && payload[0] === 0) return decodeAs(first, payload, 1); // [0], the usual case
    const node = payload.length === 0 ? 'no message indexes' : resolveIndexes(payload);
    if (typeof node !== 'string') return decodeAs(node, payload, pos);
    if (payload.length === 0 || plausibleTag(payload[0]!)) {
      // a bare message, as @kafkajs/confluent-schema-registry writes them
      try {
        return decodeAs(first, payload, 0);
      } catch (err) {
        if (err instanceof NestingTooDeep) throw err;
        throw new ProtobufDecodeError(`${node}; read as a bare message without indexes, ${(err as Error).message}`);
      }
    }
    throw new ProtobufDecodeError(node);
  };
}
