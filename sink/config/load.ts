// Reads the configuration (file or environment, the same shape the operator
// renders into a ConfigMap) and the secrets, which only ever come from the
// environment or mounted files and are kept apart from the configuration so
// that nothing that logs the configuration can log them.
import fs from 'node:fs';
import { ConfigError, validateConfig } from './validate.ts';
import type { SinkConfig } from './schema.ts';

export interface Secrets {
  apiKey: string;
  saslPassword?: string;
  registryPassword?: string;
}

export interface LoadedConfig {
  config: SinkConfig;
  secrets: Secrets;
  source: string;
  /** Where the API key came from, as messages name it: env ROCKSET_API_KEY_SOURCE (the operator names the Secret reference), else undefined. */
  apiKeySource?: string;
}

/**
 * A secret from `file`, else env `envName`. Env `<envName>_SOURCE` names where the file
 * comes from (the operator sets it: "spec.rockset.apiKeySecretRef (Secret s, key k)"),
 * so a missing file is reported as the missing Secret key it is.
 */
function readSecret(file: string | undefined, envName: string, env: NodeJS.ProcessEnv, field: string): string | undefined {
  if (file) {
    const source = env[`${envName}_SOURCE`]?.trim();
    try {
      const value = fs.readFileSync(file, 'utf8').trim();
      if (!value) throw new ConfigError([`${source ?? field}: the file ${file} is empty. Put the secret in it`]);
      return value;
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      // The operator mounts each Secret key as an optional file: a key the Secret lacks is a missing file.
      if (code === 'ENOENT' && source) throw new ConfigError([`${source}: the Secret has no such key (no file ${file} in the worker). Add the key to the Secret, or point the reference at a key it has`], 'SecretKeyNotFound');
      throw new ConfigError([`${field}: cannot read ${file} (${code ?? (err as Error).message}). Mount the Secret there or fix the path`]);
    }
  }
  const value = env[envName]?.trim();
  return value ? value : undefined;
}

/**
 * Sources, first found wins: `--config <file>`, env ROCKSET_SINK_CONFIG (a file
 * path), env ROCKSET_SINK_CONFIG_JSON (the JSON itself).
 */
export function loadConfig(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const flag = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  const fromArgs = flag < 0 ? undefined : argv[flag]!.startsWith('--config=') ? argv[flag]!.slice('--config='.length) : argv[flag + 1];
  const file = fromArgs ?? env.ROCKSET_SINK_CONFIG;
  let text: string;
  let source: string;
  if (file) {
    source = file;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([`configuration file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
    }
  } else if (env.ROCKSET_SINK_CONFIG_JSON) {
    source = 'ROCKSET_SINK_CONFIG_JSON';
    text = env.ROCKSET_SINK_CONFIG_JSON;
  } else {
    throw new ConfigError(['no configuration: pass --config <file>, or set ROCKSET_SINK_CONFIG to a file path or ROCKSET_SINK_CONFIG_JSON to the JSON']);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`${source}: not valid JSON (${(err as Error).message})`]);
  }
  const config = validateConfig(parsed);
  const apiKey = readSecret(config.rockset.apiKeyFile, 'ROCKSET_API_KEY', env, 'rockset.apiKeyFile');
  if (!apiKey) throw new ConfigError(['rockset API key: missing. Set env ROCKSET_API_KEY, or rockset.apiKeyFile to a file holding it']);
  const secrets: Secrets = { apiKey };
  if (config.kafka.sasl) {
    const password = readSecret(config.kafka.sasl.passwordFile, 'KAFKA_SASL_PASSWORD', env, 'kafka.sasl.passwordFile');
    if (!password) throw new ConfigError(['kafka.sasl: no password. Set env KAFKA_SASL_PASSWORD, or kafka.sasl.passwordFile to a file holding it']);
    secrets.saslPassword = password;
  }
  if (config.schemaRegistry?.username) {
    const password = readSecret(config.schemaRegistry.passwordFile, 'SCHEMA_REGISTRY_PASSWORD', env, 'schemaRegistry.passwordFile');
    if (!password) throw new ConfigError(['schemaRegistry.username: no password. Set env SCHEMA_REGISTRY_PASSWORD, or schemaRegistry.passwordFile to a file holding it']);
    secrets.registryPassword = password;
  }
  // Node only warns when it cannot load the extra CA; the broker's TLS then fails far from the cause.
  if (env.NODE_EXTRA_CA_CERTS) readSecret(env.NODE_EXTRA_CA_CERTS, 'NODE_EXTRA_CA_CERTS', env, 'env NODE_EXTRA_CA_CERTS');
  const apiKeySource = env.ROCKSET_API_KEY_SOURCE?.trim();
  return { config, secrets, source, ...(apiKeySource ? { apiKeySource } : {}) };
}
