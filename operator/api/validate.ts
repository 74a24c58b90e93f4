// ajv validation of a RocksetSink spec against the same TypeBox schema the CRD is
// generated from, including the cross-field rules the API server enforces with
// CEL. Fills in defaults, as the API server does.
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describeSpecErrors } from './describe.ts';
import { RocksetSinkSpecSchema, type RocksetSinkSpec } from './rocksetsink.ts';
import { quantityValue } from '../render/memory.ts';

type AddFormats = (ajv: Ajv) => Ajv;
const addFormats: AddFormats = (addFormatsModule as unknown as { default: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

// strict: false lets the x-kubernetes-* keywords through; $data serves retry.maxBackoffMs >= initialBackoffMs;
// verbose gives describeSpecErrors the failing values, for messages that name the fix.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, $data: true, verbose: true });
addFormats(ajv);
// The ajv form of CROSS_FIELD_RULES.requestsWithinLimits (the API server uses CEL's quantity()).
ajv.addKeyword({
  keyword: 'requestsWithinLimits',
  type: 'object',
  validate: (_: unknown, resources: { requests?: Record<string, string | number>; limits?: Record<string, string | number> }) =>
    Object.entries(resources.requests ?? {}).every(([name, request]) => {
      const limit = resources.limits?.[name];
      const r = quantityValue(request);
      const l = limit === undefined ? undefined : quantityValue(limit);
      return r === undefined || l === undefined || r <= l;
    }),
});
const check = ajv.compile(RocksetSinkSpecSchema);

export type SpecResult = { ok: true; spec: RocksetSinkSpec } | { ok: false; problems: string[] };

function describe(e: ErrorObject): string {
  const field = ['spec', ...e.instancePath.split('/').slice(1)].join('.');
  if (e.keyword === 'required') return `${field}.${(e.params as { missingProperty: string }).missingProperty}: is required`;
  if (e.keyword === 'additionalProperties') return `${field}.${(e.params as { additionalProperty: string }).additionalProperty}: unknown field`;
  return `${field}: ${e.message ?? 'is invalid'}`;
}

/** Validates a spec (a copy; defaults filled in) and returns it, or the problems. */
export function validateSpec(input: unknown): SpecResult {
  const spec = structuredClone(input);
  // Default first, then validate, as the API server does: ajv evaluates allOf (the
  // cross-field rules) before the properties keyword that fills in defaults.
  check(spec);
  if (check(spec)) return { ok: true, spec: spec as RocksetSinkSpec };
  // `<field>: <problem>. <fix>` (a cross-field rule: the API server's CEL message), else ajv's own words.
  const described = describeSpecErrors(check.errors ?? [], spec);
  const problems = described.length ? described : [...new Set((check.errors ?? []).filter((e) => e.keyword !== 'if').map(describe))];
  return { ok: false, problems };
}
