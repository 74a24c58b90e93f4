// Builds the RocksetSink CustomResourceDefinition from the TypeBox schemas (pure).
// The JSON Schema TypeBox produces is turned into a structural OpenAPI v3 schema
// as apiextensions.k8s.io/v1 requires: literal unions become enums, Type.Record
// becomes additionalProperties, additionalProperties: false and uniqueItems go
// (pruning and x-kubernetes-list-type: set do their job), fields with a default are
// not required (the API server defaults before it validates), the ajv forms of the
// cross-field rules go while their CEL forms stay. Anything it does not know how to
// translate is an error, so a new keyword in the sink schema cannot slip through.
import {
  API_VERSION,
  CATEGORIES,
  CRD_NAME,
  FIELD_DOCS,
  GROUP,
  KIND,
  LIST_KIND,
  PLURAL,
  RocksetSinkSpecSchema,
  RocksetSinkStatusSchema,
  SHORT_NAMES,
  SINGULAR,
  VERSION,
} from './rocksetsink.ts';

export type JSONSchemaProps = { [key: string]: unknown };

// Output order of the keys, for a readable YAML file.
const KEY_ORDER = [
  'description',
  'type',
  'format',
  'enum',
  'default',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'anyOf',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-validations',
];
const COPIED = new Set(['description', 'type', 'format', 'default', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-validations']);
// Handled below, or dropped on purpose (ajv-only forms of rules stated in CEL).
const HANDLED = new Set(['anyOf', 'properties', 'required', 'additionalProperties', 'patternProperties', 'items', 'uniqueItems', 'exclusiveMinimum', 'exclusiveMaximum', 'x-kubernetes-int-or-string', 'allOf', '$id']);

export class SchemaTranslationError extends Error {}

interface Ctx {
  /** Dotted path inside spec (undefined outside spec: no description required). */
  specPath: string | undefined;
  missingDescriptions: string[];
}

function ordered(o: JSONSchemaProps): JSONSchemaProps {
  const out: JSONSchemaProps = {};
  for (const k of KEY_ORDER) if (o[k] !== undefined) out[k] = o[k];
  for (const k of Object.keys(o)) if (!(k in out)) throw new SchemaTranslationError(`internal: key ${k} has no place in KEY_ORDER`);
  return out;
}

const scalar = (v: unknown): v is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof v);

/**
 * A field's description with its range and default appended ("Between 1 and 20000.
 * Default: 5000."): `kubectl explain` prints descriptions, not the schema's default,
 * minimum or maximum.
 */
export function withFacts(description: string, node: JSONSchemaProps): string {
  const facts: string[] = [];
  const { minimum: min, maximum: max } = node;
  if (typeof min === 'number' && typeof max === 'number') facts.push(`Between ${min} and ${max}.`);
  else if (typeof min === 'number') facts.push(`At least ${min}.`);
  else if (typeof max === 'number') facts.push(`At most ${max}.`);
  if (scalar(node.default)) facts.push(`Default: ${node.default}.`);
  if (!facts.length) return description;
  return `${description.replace(/\.?$/, '.')} ${facts.join(' ')}`;
}

function translate(node: JSONSchemaProps, path: string, ctx: Ctx): JSONSchemaProps {
  for (const k of Object.keys(node)) {
    if (!COPIED.has(k) && !HANDLED.has(k)) throw new SchemaTranslationError(`${path}: keyword ${k} has no structural translation`);
  }
  const out: JSONSchemaProps = {};
  for (const k of Object.keys(node)) if (COPIED.has(k)) out[k] = structuredClone(node[k]);
  if (ctx.specPath !== undefined) {
    const doc = FIELD_DOCS[ctx.specPath];
    if (doc !== undefined) out.description = doc;
    if (typeof out.description === 'string') out.description = withFacts(out.description, node);
  }

  if (node.anyOf !== undefined) {
    const branches = node.anyOf as JSONSchemaProps[];
    if (branches.every((b) => b.const !== undefined)) {
      const types = new Set(branches.map((b) => b.type));
      if (types.size !== 1) throw new SchemaTranslationError(`${path}: a union of literals of different types`);
      out.type = [...types][0];
      out.enum = branches.map((b) => b.const);
    } else if (node['x-kubernetes-int-or-string'] === true) {
      out['x-kubernetes-int-or-string'] = true;
      out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    } else {
      throw new SchemaTranslationError(`${path}: a union other than literals or int-or-string is not structural`);
    }
  }
  if (typeof node.exclusiveMinimum === 'number') throw new SchemaTranslationError(`${path}: exclusiveMinimum as a number: use minimum`);
  if (typeof node.exclusiveMaximum === 'number') throw new SchemaTranslationError(`${path}: exclusiveMaximum as a number: use maximum`);

  if (node.type === 'object' && node['x-kubernetes-preserve-unknown-fields'] !== true) {
    const props = (node.properties ?? {}) as Record<string, JSONSchemaProps>;
    if (node.properties !== undefined) {
      const properties: JSONSchemaProps = {};
      for (const [name, child] of Object.entries(props)) {
        properties[name] = translate(child, `${path}.${name}`, { ...ctx, specPath: ctx.specPath === undefined ? undefined : ctx.specPath ? `${ctx.specPath}.${name}` : name });
        if (ctx.specPath !== undefined && (properties[name] as JSONSchemaProps).description === undefined) {
          ctx.missingDescriptions.push(ctx.specPath ? `${ctx.specPath}.${name}` : name);
        }
      }
      out.properties = properties;
      // Defaulted fields are optional to a user: the API server fills them in.
      const required = ((node.required ?? []) as string[]).filter((r) => props[r]?.default === undefined);
      if (required.length) out.required = required;
    }
    const pattern = node.patternProperties as Record<string, JSONSchemaProps> | undefined;
    if (pattern !== undefined) {
      const entries = Object.entries(pattern);
      if (node.properties !== undefined || entries.length !== 1 || entries[0]![0] !== '^(.*)$') {
        throw new SchemaTranslationError(`${path}: only Type.Record(Type.String(), ...) maps are structural`);
      }
      out.additionalProperties = translate(entries[0]![1], `${path}.*`, { ...ctx, specPath: undefined });
    } else if (typeof node.additionalProperties === 'object') {
      out.additionalProperties = translate(node.additionalProperties as JSONSchemaProps, `${path}.*`, { ...ctx, specPath: undefined });
    }
  }
  if (node.type === 'array') {
    out.items = translate(node.items as JSONSchemaProps, `${path}[]`, { ...ctx, specPath: undefined });
    if (node.uniqueItems === true) {
      if (['object', 'array'].includes((out.items as JSONSchemaProps).type as string)) throw new SchemaTranslationError(`${path}: uniqueItems on non-scalar items`);
      out['x-kubernetes-list-type'] = 'set';
    }
  }
  if (out.type === undefined && out['x-kubernetes-int-or-string'] !== true) throw new SchemaTranslationError(`${path}: no type`);
  return ordered(out);
}

/** The structural OpenAPI v3 schema of a TypeBox schema; `specPath` '' requires descriptions below it. */
export function toStructural(schema: unknown, path: string, specPath?: string): JSONSchemaProps {
  const ctx: Ctx = { specPath, missingDescriptions: [] };
  const plain = JSON.parse(JSON.stringify(schema)) as JSONSchemaProps; // drops TypeBox's symbols
  const out = translate(plain, path, ctx);
  if (ctx.missingDescriptions.length) {
    throw new SchemaTranslationError(`fields without a description (add one to FIELD_DOCS in operator/api/rocksetsink.ts or the sink schema): ${ctx.missingDescriptions.join(', ')}`);
  }
  return out;
}

export const PRINTER_COLUMNS = [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'The Ready condition' },
  { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas', description: 'Desired sink workers' },
  { name: 'Available', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready sink workers', priority: 1 },
  { name: 'Lag', type: 'integer', jsonPath: '.status.lag.total', description: 'Records not yet committed' },
  { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused', priority: 1 },
  { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

/** The CustomResourceDefinition object. */
export function buildCrd(): JSONSchemaProps {
  const spec = toStructural(RocksetSinkSpecSchema, 'spec', '');
  const status = toStructural(RocksetSinkStatusSchema, 'status');
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME, labels: { 'app.kubernetes.io/name': 'rockset-sink-operator', 'app.kubernetes.io/part-of': 'rockset-sink' } },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: LIST_KIND, plural: PLURAL, singular: SINGULAR, shortNames: [...SHORT_NAMES], categories: [...CATEGORIES] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: {
            status: {},
            scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
          },
          additionalPrinterColumns: PRINTER_COLUMNS,
          schema: {
            openAPIV3Schema: {
              description: `${KIND} streams Kafka topics into Rockset collections through a Deployment of sink workers (${API_VERSION})`,
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion of this representation of the object' },
                kind: { type: 'string', description: 'Kind of the object' },
                // Label values carry the name: at most 63 characters.
                metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 63 } } },
                spec,
                status,
              },
            },
          },
        },
      ],
    },
  };
}
