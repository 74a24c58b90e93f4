// Checksums for the pod template (pure): a change in the rendered configuration or
// in a referenced Secret rolls the workers; anything else does not.
import { createHash } from 'node:crypto';

/** sha256 of a ConfigMap's data, keys sorted, so the order the data was built in does not matter. */
export function dataChecksum(data: Record<string, string>): string {
  const h = createHash('sha256');
  for (const key of Object.keys(data).sort()) h.update(`${key}\0${data[key]}\0`);
  return h.digest('hex');
}

/**
 * sha256 of the referenced Secrets' versions (name -> resourceVersion), never
 * their bytes. The controller passes this to renderDeployment.
 */
export function secretsChecksum(versions: Record<string, string>): string {
  return dataChecksum(versions);
}

/** JSON with object keys sorted at every level: equal values serialize equally. */
export function canonicalJson(value: unknown, indent = 2): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        const child = (v as Record<string, unknown>)[k];
        if (child !== undefined) out[k] = sort(child);
      }
      return out;
    }
    return v;
  };
  return JSON.stringify(sort(value), null, indent);
}
