// JSON Schema record values framed by a Confluent Schema Registry: after the
// magic byte and schema id (stripped by the caller) the payload is the UTF-8
// JSON text itself (no message indexes, unlike Protobuf).
//
// The document is the JSON as written, parsed with integers beyond 2^53 kept to
// the digit (JSON.rawJSON values, written back verbatim by JSON.stringify);
// nested objects and arrays stay as they are. The writer schema is not enforced:
// a value that does not match it is still a valid document (the producer's
// serializer validates, if configured to), so only bytes that are not UTF-8 JSON
// are bad records. The schema text is checked to be JSON when compiled.
import { NestingTooDeep } from './depth.ts';
import { decodeJsonValue } from './json.ts';

/** A payload that is not UTF-8 JSON. */
export class JsonSchemaDecodeError extends Error {
  override name = 'JsonSchemaDecodeError';
}

/** Builds the decoder for a JSON Schema text; throws JsonSchemaDecodeError if the schema text is not JSON. */
export function compileJsonSchemaDecoder(schemaText: string): (payload: Buffer) => unknown {
  let schema: unknown;
  try {
    schema = JSON.parse(schemaText);
  } catch (err) {
    throw new JsonSchemaDecodeError(`the JSON Schema is not JSON (${(err as Error).message})`);
  }
  if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
    throw new JsonSchemaDecodeError('the JSON Schema is neither an object nor a boolean');
  }
  return (payload: Buffer): unknown => {
    try {
      return decodeJsonValue(payload);
    } catch (err) {
      if (err instanceof NestingTooDeep) throw err;
      throw new JsonSchemaDecodeError((err as Error).message.replace(/^the value/, 'the JSON Schema payload'));
    }
  };
}
