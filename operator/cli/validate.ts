// `rockset-sink validate`: the checks the operator and the API server apply to a
// RocksetSink, offline, on YAML text (pure: file name + text in, problems out).
//
// A document is checked when it is a RocksetSink (kind RocksetSink, or anything in
// the rockset-sink.dev group); everything else in a GitOps repository (Secrets,
// kustomizations, other CRs) is left alone. A RocksetSink gets, in order:
//   - apiVersion/kind/top-level fields, metadata.name and namespace as the API server
//     and the rendered objects (operator/render/meta.ts) need them;
//   - validateSpec (operator/api/validate.ts: the CRD's schema with its defaults and
//     the cross-field rules its CEL enforces), reported in the API server's words;
//   - when the spec is valid, the sink configuration the operator would render, run
//     through the sink's own validateConfig, as the operator's reconcile does before
//     it touches the Deployment (regular expressions, topic routing, the DLQ, ...).
import { LineCounter, parseAllDocuments, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions, type Tags } from 'yaml';
import { API_VERSION, GROUP, KIND, type RocksetSink } from '../api/rocksetsink.ts';
import { validateSpec } from '../api/validate.ts';
import { secretsChecksum } from '../render/checksum.ts';
import { commonLabels, configMapName, deploymentName } from '../render/meta.ts';
import { renderSink } from '../render/objects.ts';
import { DEFAULT_SINK_IMAGE } from '../reconcile.ts';
import { ConfigError, validateConfig } from '../../sink/config/validate.ts';
import { underRoot } from '../api/describe.ts';

export interface Problem {
  file: string;
  /** `RocksetSink ns/name`; absent for a YAML syntax error. */
  resource?: string;
  /** 1-based, for a YAML syntax error. */
  line?: number;
  column?: number;
  /** `<field path>: <what is wrong>. <fix>` (or the parser's message for a YAML error). */
  message: string;
}

export interface FileResult {
  /** RocksetSink documents found (checked). */
  sinks: number;
  problems: Problem[];
}

export function formatProblem(p: Problem): string {
  if (p.resource === undefined) return `${p.file}${p.line !== undefined ? `:${p.line}:${p.column ?? 1}` : ''}: ${p.message}`;
  return `${p.file}: ${p.resource}: ${p.message}`;
}

// ---------------------------------------------------------------------------
// Names (apimachinery's IsDNS1123Subdomain / IsDNS1123Label / IsValidLabelValue).

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Problems with metadata.name: the API server's rule, then what the operator derives from it. */
export function nameProblems(name: string): string[] {
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    return [`metadata.name: ${JSON.stringify(name)} is not a valid name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (a DNS-1123 subdomain)`];
  }
  const sink = { metadata: { name } } as RocksetSink;
  for (const [what, derived] of [
    ['Deployment', deploymentName(sink)],
    ['ConfigMap', configMapName(sink)],
  ] as const) {
    if (derived.length > 253) return [`metadata.name: is ${name.length} characters; the ${what} named after it (${derived.length} characters) would exceed 253. Shorten the name`];
  }
  for (const [label, value] of Object.entries(commonLabels(sink))) {
    if (value.length > 63 || !LABEL_VALUE.test(value)) {
      return [`metadata.name: is ${name.length} characters; the sink pods' label ${label} carries it and a label value holds at most 63. Shorten the name`];
    }
  }
  return [];
}

function namespaceProblems(ns: unknown): string[] {
  if (typeof ns !== 'string') return [`metadata.namespace: must be a string (got ${JSON.stringify(ns)})`];
  if (ns.length > 63 || !DNS1123_LABEL.test(ns)) return [`metadata.namespace: ${JSON.stringify(ns)} is not a valid namespace: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`];
  return [];
}

// ---------------------------------------------------------------------------
// The sink configuration's fields as the spec names them.

const CONFIG_TO_SPEC: [string, string][] = [
  ['rockset.apiKeyFile', 'rockset.apiKeySecretRef'],
  ['kafka.sasl.passwordFile', 'kafka.sasl.passwordSecretRef'],
  ['schemaRegistry.passwordFile', 'schemaRegistry.passwordSecretRef'],
];

/** A validateConfig problem (`kafka.x: ...`) as a spec problem (`spec.kafka.x: ...`). */
export function configProblemToSpec(problem: string): string {
  const i = problem.indexOf(': ');
  if (i < 0) return `spec: ${problem}`;
  const fields = problem
    .slice(0, i)
    .split(' / ')
    .map((f) => {
      if (f === '(top level)') return '';
      const hit = CONFIG_TO_SPEC.find(([from]) => f === from || f.startsWith(`${from}.`));
      return hit ? hit[1] + f.slice(hit[0].length) : f;
    });
  if (fields.every((f) => f === '')) return `spec${problem.slice(i)}`;
  return underRoot('spec', `${fields.join(' / ')}${problem.slice(i)}`);
}

// ---------------------------------------------------------------------------
// One resource.

const TOP_LEVEL = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Is this document a RocksetSink (or meant as one)? */
export function isSinkDocument(doc: unknown): doc is Record<string, unknown> {
  if (!isObject(doc)) return false;
  return doc['kind'] === KIND || (typeof doc['apiVersion'] === 'string' && doc['apiVersion'].startsWith(`${GROUP}/`));
}

/** A label for messages: `RocksetSink ns/name`, `RocksetSink name`, or by position when it has no name. */
export function resourceLabel(doc: Record<string, unknown>, position: string): string {
  const meta = isObject(doc['metadata']) ? doc['metadata'] : {};
  const name = typeof meta['name'] === 'string' && meta['name'] ? meta['name'] : undefined;
  const ns = typeof meta['namespace'] === 'string' && meta['namespace'] ? meta['namespace'] : undefined;
  if (!name) return `${KIND} (${position})`;
  return `${KIND} ${ns ? `${ns}/` : ''}${name}`;
}

/** Every problem of one RocksetSink document (already parsed), as `<field path>: <message>`. */
export function validateResource(doc: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (doc['apiVersion'] !== API_VERSION) out.push(`apiVersion: is ${JSON.stringify(doc['apiVersion'] ?? null)}. Use ${API_VERSION}`);
  if (doc['kind'] !== KIND) out.push(`kind: is ${JSON.stringify(doc['kind'] ?? null)}. Use ${KIND} (the only kind in ${GROUP})`);
  for (const k of Object.keys(doc)) if (!TOP_LEVEL.includes(k)) out.push(`${k}: unknown field. Remove it or use one of: apiVersion, kind, metadata, spec`);

  const meta = doc['metadata'];
  let name = 'sink';
  let namespace = 'default';
  if (!isObject(meta)) {
    out.push('metadata.name: is required. Add it (metadata: {name: ...})');
  } else {
    if (meta['name'] === undefined) out.push('metadata.name: is required. Add it');
    else if (typeof meta['name'] !== 'string') out.push(`metadata.name: must be a string (got ${JSON.stringify(meta['name'])})`);
    else {
      out.push(...nameProblems(meta['name']));
      name = meta['name'];
    }
    if (meta['namespace'] !== undefined) {
      const nsProblems = namespaceProblems(meta['namespace']);
      out.push(...nsProblems);
      if (!nsProblems.length) namespace = meta['namespace'] as string;
    }
  }

  if (doc['spec'] === undefined) {
    out.push('spec: is required. Add it with at least spec.kafka and spec.rockset');
    return out;
  }
  const checked = validateSpec(doc['spec']);
  if (!checked.ok) {
    out.push(...checked.problems);
    return out;
  }

  const sink: RocksetSink = { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace, uid: '00000000-0000-0000-0000-000000000000' }, spec: checked.spec };
  const rendered = renderSink(sink, { image: DEFAULT_SINK_IMAGE, secretsHash: secretsChecksum({}) });
  try {
    validateConfig(rendered.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    out.push(...err.problems.map(configProblemToSpec));
  }
  return [...new Set(out)];
}

// ---------------------------------------------------------------------------
// One file.

// YAML as kubectl reads it (go-yaml v2, YAML 1.1: yes/on are booleans, 0777 is octal),
// except that timestamps stay strings, as they do for kubectl.
const PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  customTags: (tags: Tags) => tags.filter((t) => t !== 'timestamp' && (typeof t !== 'object' || t.tag !== 'tag:yaml.org,2002:timestamp')),
};

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

/** Every RocksetSink in a YAML file (multi-document; a v1 List's items too), checked. */
export function validateText(file: string, text: string): FileResult {
  const problems: Problem[] = [];
  let sinks = 0;
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { ...PARSE_OPTIONS, lineCounter });
  // An empty file (or only comments) is an EmptyStream: no documents, nothing to check.
  docs.forEach((d: Document.Parsed, i: number) => {
    const e = d.errors[0];
    if (e) {
      // The first error only: the parser's later ones mostly follow from it.
      const pos = e.linePos?.[0];
      problems.push({ file, ...(pos ? { line: pos.line, column: pos.col } : {}), message: `invalid YAML: ${firstLine(e.message)}` });
      return;
    }
    let value: unknown;
    try {
      value = d.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // An alias to an anchor of another document, an alias bomb: YAML kubectl refuses too.
      const pos = lineCounter.linePos(d.range[0]);
      problems.push({ file, line: pos.line, column: pos.col, message: `invalid YAML: ${firstLine((err as Error).message)}` });
      return;
    }
    const items = isObject(value) && value['kind'] === 'List' && Array.isArray(value['items']) ? value['items'] : [value];
    items.forEach((item: unknown, j) => {
      if (!isSinkDocument(item)) return;
      sinks++;
      const position = `document ${i + 1}${items.length > 1 || item !== value ? `, item ${j + 1}` : ''}`;
      const resource = resourceLabel(item, position);
      for (const message of validateResource(item)) problems.push({ file, resource, message });
    });
  });
  return { sinks, problems };
}
