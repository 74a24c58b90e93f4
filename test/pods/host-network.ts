// helm --post-renderer for the pod tests: puts the operator's pod on the host network.
// The test API server listens on 127.0.0.1 only and there is no kube-proxy to carry the
// `kubernetes` Service's ClusterIP, so a pod on the bridge could not reach it; the
// chart's own extraEnv then points the in-cluster config at 127.0.0.1:<port>. Nothing
// else in the rendered release changes.
import { parseAllDocuments, stringify } from 'yaml';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const out: string[] = [];
for (const doc of parseAllDocuments(input)) {
  const obj = doc.toJS() as { kind?: string; spec?: { template?: { spec?: Record<string, unknown> } } } | null;
  if (!obj) continue;
  if (obj.kind === 'Deployment' && obj.spec?.template?.spec) {
    obj.spec.template.spec.hostNetwork = true;
    obj.spec.template.spec.dnsPolicy = 'ClusterFirstWithHostNet';
  }
  out.push(stringify(obj));
}
process.stdout.write(out.join('---\n'));
