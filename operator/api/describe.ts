// Turns ajv's errors for a RocksetSink spec into `<field>: <what is wrong>. <fix>`
// lines in the style of sink/config/validate.ts, and a failed cross-field rule into
// the message the API server's CEL rule gives (CROSS_FIELD_RULES), so the CLI says
// what `kubectl apply` would say. Pure.
import type { ErrorObject } from 'ajv';
import { CROSS_FIELD_RULES, type CrossFieldRule } from './rocksetsink.ts';

/** A field path under the resource, e.g. spec.kafka.brokers[0]. */
export function fieldPath(root: string, instancePath: string, data: unknown, extra?: string): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = root;
  let node: unknown = data;
  for (const p of parts) {
    out += Array.isArray(node) ? `[${p}]` : `.${p}`;
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[p] : undefined;
  }
  return out;
}

/** `kafka.topics / kafka.topicPattern: ...` -> `spec.kafka.topics / spec.kafka.topicPattern: ...` */
export function underRoot(root: string, message: string): string {
  const i = message.indexOf(': ');
  if (i < 0) return `${root}: ${message}`;
  const fields = message
    .slice(0, i)
    .split(' / ')
    .map((f) => `${root}.${f}`)
    .join(' / ');
  return `${fields}${message.slice(i)}`;
}

// The rules as crd.ts/rocksetsink.ts lay them out: `allOf[i]` of the object at `at`
// is the i-th rule with that `at`, in declaration order.
const RULES: readonly CrossFieldRule[] = Object.values(CROSS_FIELD_RULES);
function ruleOf(schemaPath: string): CrossFieldRule | undefined {
  const m = /^#(?:\/properties\/([A-Za-z]+))?\/allOf\/(\d+)\//.exec(schemaPath);
  if (!m) return undefined;
  const at = (m[1] ?? 'spec') as CrossFieldRule['at'];
  return RULES.filter((r) => r.at === at)[Number(m[2])];
}

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

/** Problems for the errors of a spec validation (ajv compiled with verbose: true), deduplicated, in ajv's order. */
export function describeSpecErrors(errors: readonly ErrorObject[], spec: unknown, root = 'spec'): string[] {
  const out: string[] = [];
  // A union's branch errors are summed up once, by its anyOf.
  const unions = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  for (const e of errors) {
    if (e.keyword === 'if') continue; // the `then` branch's own error says it
    const rule = ruleOf(e.schemaPath);
    if (rule) {
      out.push(underRoot(root, rule.message));
      continue;
    }
    const field = fieldPath(root, e.instancePath, spec);
    const parent = e.parentSchema as { properties?: object; anyOf?: { const?: unknown; type?: string }[]; description?: string; pattern?: string } | undefined;
    switch (e.keyword) {
      case 'additionalProperties': {
        const name = (e.params as { additionalProperty: string }).additionalProperty;
        const allowed = Object.keys(parent?.properties ?? {});
        // rockset.apiKey, kafka.sasl.password, schemaRegistry.password: a secret written inline.
        if (allowed.includes(`${name}SecretRef`)) {
          out.push(`${fieldPath(root, e.instancePath, spec, name)}: secrets do not belong in a RocksetSink. Put the value in a Secret and reference it with ${name}SecretRef (name, key)`);
          break;
        }
        out.push(`${fieldPath(root, e.instancePath, spec, name)}: unknown field. Remove it${allowed.length ? ` or use one of: ${allowed.join(', ')}` : ''}`);
        break;
      }
      case 'required':
        out.push(`${fieldPath(root, e.instancePath, spec, (e.params as { missingProperty: string }).missingProperty)}: is required. Add it`);
        break;
      case 'anyOf': {
        const branches = parent?.anyOf ?? [];
        if (branches.length && branches.every((b) => b.const !== undefined)) out.push(`${field}: is ${show(e.data)}. Use one of: ${branches.map((b) => b.const).join(', ')}`);
        else if (branches.length && branches.every((b) => b.type !== undefined)) out.push(`${field}: must be ${branches.map((b) => `a ${b.type}`).join(' or ')} (got ${show(e.data)})`);
        else out.push(`${field}: ${e.message ?? 'is invalid'} (got ${show(e.data)})`);
        break;
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        out.push(`${field}: is ${show(e.data)}; it ${e.message}. Choose a value in range`);
        break;
      case 'pattern':
        out.push(`${field}: ${show(e.data)} is not valid${parent?.description ? ` (${parent.description})` : ''}: it must match ${(e.params as { pattern: string }).pattern}`);
        break;
      case 'format':
        out.push(`${field}: ${show(e.data)} is not a valid ${(e.params as { format: string }).format}${parent?.description ? ` (${parent.description})` : ''}`);
        break;
      case 'type':
        if (unions.has(e.instancePath)) break;
        out.push(`${field}: ${e.message} (got ${show(e.data)})`);
        break;
      case 'const':
        if (unions.has(e.instancePath)) break;
        out.push(`${field}: must be ${show((e.params as { allowedValue: unknown }).allowedValue)}`);
        break;
      default:
        if (unions.has(e.instancePath)) break;
        out.push(`${field}: ${e.message ?? 'is invalid'}`);
    }
  }
  return [...new Set(out)];
}
