// The sink configuration a RocksetSink stands for (pure): its sections as they are,
// each Secret reference turned into the path where the Deployment mounts that key,
// and the operator-controlled http listener. The sink validates it at start
// (sink/config/validate.ts); the operator runs the same validateConfig on it first.
import type { SinkConfigInput } from '../../sink/config/schema.ts';
import { defaultGroupId, type RocksetSink, type RocksetSinkSpec, type SecretKeyRef } from '../api/rocksetsink.ts';

export const CONFIG_DIR = '/etc/rockset-sink';
export const CONFIG_FILE = 'config.json';
export const SECRETS_DIR = '/var/run/secrets/rockset-sink';
export const HTTP_PORT = 9090;

export type SecretPurpose = 'api-key' | 'kafka-sasl' | 'kafka-ca' | 'schema-registry';

/** One referenced Secret key, mounted as one file. */
export interface SecretMount {
  purpose: SecretPurpose;
  /** The spec field holding the reference, for messages. */
  field: string;
  ref: SecretKeyRef;
  /** Volume (and mount) name. */
  volume: string;
  /** Directory the volume is mounted at. */
  dir: string;
  /** The file holding the key's value. */
  file: string;
}

function mount(purpose: SecretPurpose, field: string, ref: SecretKeyRef): SecretMount {
  const dir = `${SECRETS_DIR}/${purpose}`;
  return { purpose, field, ref: { name: ref.name, key: ref.key }, volume: `secret-${purpose}`, dir, file: `${dir}/${ref.key}` };
}

/** Every Secret key the spec references, in a fixed order (also what the controller watches). */
export function secretMounts(spec: RocksetSinkSpec): SecretMount[] {
  const out = [mount('api-key', 'rockset.apiKeySecretRef', spec.rockset.apiKeySecretRef)];
  if (spec.kafka.sasl) out.push(mount('kafka-sasl', 'kafka.sasl.passwordSecretRef', spec.kafka.sasl.passwordSecretRef));
  if (spec.kafka.tls) out.push(mount('kafka-ca', 'kafka.tls.caSecretRef', spec.kafka.tls.caSecretRef));
  if (spec.schemaRegistry?.passwordSecretRef) out.push(mount('schema-registry', 'schemaRegistry.passwordSecretRef', spec.schemaRegistry.passwordSecretRef));
  return out;
}

const fileOf = (mounts: SecretMount[], purpose: SecretPurpose): string => {
  const m = mounts.find((x) => x.purpose === purpose);
  if (!m) throw new Error(`internal: no ${purpose} mount`);
  return m.file;
};

/** kafka.groupId, or the sink's own default group. */
export function effectiveGroupId(sink: Pick<RocksetSink, 'metadata' | 'spec'>): string {
  return sink.spec.kafka.groupId ?? defaultGroupId(sink.metadata.namespace, sink.metadata.name);
}

/** The sink configuration (the shape of sink/config/schema.ts) for a RocksetSink. */
export function renderConfig(sink: RocksetSink): SinkConfigInput {
  const { spec } = sink;
  const mounts = secretMounts(spec);
  // kafka.tls is not sink configuration: the CA reaches the sink through NODE_EXTRA_CA_CERTS.
  const { sasl, tls: _tls, ...kafka } = spec.kafka;
  // allowInsecureHttp is the operator's admission of an http apiServer, not sink configuration.
  const { apiKeySecretRef: _apiKey, allowInsecureHttp: _http, ...rockset } = spec.rockset;
  const config: SinkConfigInput = {
    kafka: { ...kafka, groupId: effectiveGroupId(sink), ...(sasl ? { sasl: { mechanism: sasl.mechanism, username: sasl.username, passwordFile: fileOf(mounts, 'kafka-sasl') } } : {}) },
    rockset: { ...rockset, apiKeyFile: fileOf(mounts, 'api-key') },
    http: { port: HTTP_PORT, host: '0.0.0.0' },
    shutdownTimeoutMs: spec.shutdownTimeoutMs,
    logLevel: spec.logLevel,
  };
  if (spec.batch) config.batch = spec.batch;
  if (spec.retry) config.retry = spec.retry;
  if (spec.documents) config.documents = spec.documents;
  if (spec.errors) config.errors = spec.errors;
  if (spec.format) config.format = spec.format;
  if (spec.schemaRegistry) {
    const { passwordSecretRef, ...registry } = spec.schemaRegistry;
    config.schemaRegistry = passwordSecretRef ? { ...registry, passwordFile: fileOf(mounts, 'schema-registry') } : registry;
  }
  return structuredClone(config);
}
