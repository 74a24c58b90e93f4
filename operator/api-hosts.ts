// The operator-level allow-list of Rockset API hosts (OPERATOR_ALLOWED_API_HOSTS, the
// chart's allowedApiHosts). Whoever may create a RocksetSink may reference any Secret
// key of its namespace as the API key, and the workers send that key to
// spec.rockset.apiServer: the allow-list bounds where it can go. Pure.
//   api.usw2a1.rockset.com   that host only
//   *.rockset.com            any host under rockset.com (not rockset.com itself)
// Empty: any host (the operator's default without the chart).

const HOST = /^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Parses a comma-separated list; throws naming the entry that is not a host pattern. */
export function parseAllowedHosts(raw: string | undefined): string[] {
  const entries = (raw ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const e of entries) {
    if (!HOST.test(e)) throw new Error(`OPERATOR_ALLOWED_API_HOSTS: ${JSON.stringify(e)} is not a host name or *.domain pattern (no scheme, port or path)`);
  }
  return entries;
}

/** Whether apiServer's host is allowed (an unparsable URL never is). */
export function apiHostAllowed(apiServer: string, allowed: readonly string[]): boolean {
  if (!allowed.length) return true;
  let host: string;
  try {
    host = new URL(apiServer).hostname.toLowerCase();
  } catch {
    return false;
  }
  return allowed.some((a) => (a.startsWith('*.') ? host.endsWith(a.slice(1)) && host.length > a.length - 1 : host === a));
}

/** The ConfigValid message for a host that is not allowed. */
export function hostNotAllowedMessage(apiServer: string, allowed: readonly string[]): string {
  let host = apiServer;
  try {
    host = new URL(apiServer).hostname;
  } catch {
    // the URL itself is reported
  }
  return `host ${host} is not among the API hosts this operator allows (${allowed.join(', ')}): use an allowed host, or ask the operator's administrator to add it to the chart value allowedApiHosts (OPERATOR_ALLOWED_API_HOSTS)`;
}
