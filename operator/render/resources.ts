// The sink container's resources (pure): what spec.resources gives, each missing
// field filled with its default, bounded so a request never exceeds its limit. The
// defaults live here, not in the CRD: a CRD default is written into the stored object,
// so a later edit of the limit alone (256Mi request kept, limit lowered to 128Mi) was
// accepted and then refused by the API server on the Deployment.
import { DEFAULT_RESOURCES, type Resources } from '../api/rocksetsink.ts';
import { quantityValue } from './memory.ts';

type Quantity = string | number;

/** The smaller (lower: true) or larger of two quantities; `a` when either is not one. */
function pick(a: Quantity, b: Quantity, lower: boolean): Quantity {
  const va = quantityValue(a);
  const vb = quantityValue(b);
  if (va === undefined || vb === undefined) return a;
  return lower ? (vb < va ? b : a) : vb > va ? b : a;
}

export function effectiveResources(given: Resources | undefined): { requests: Record<string, Quantity>; limits: Record<string, Quantity> } {
  const requests: Record<string, Quantity> = { ...given?.requests };
  const limits: Record<string, Quantity> = { ...given?.limits };
  for (const [name, value] of Object.entries(DEFAULT_RESOURCES.limits)) {
    // A default limit never falls below the request the user asked for.
    if (limits[name] === undefined) limits[name] = requests[name] === undefined ? value : pick(value, requests[name], false);
  }
  for (const [name, value] of Object.entries(DEFAULT_RESOURCES.requests)) {
    // A default request never rises above the limit the user set.
    if (requests[name] === undefined) requests[name] = limits[name] === undefined ? value : pick(value, limits[name], true);
  }
  return { requests, limits };
}
