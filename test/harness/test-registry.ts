// What a test file uses to reach the run's Schema Registry: the one the global
// setup started (env SCHEMA_REGISTRY_URL, the ccompat URL, and SCHEMA_REGISTRY_PID),
// or (when a file is run on its own) one started for this process.
//
// pause()/resume() SIGSTOP/SIGCONT the registry's JVM: while paused it keeps its
// schemas but answers nothing, so requests time out (give clients a timeout, see
// client()). The run's registry is shared by every test file: resume in a finally.
// A registry this process paused is resumed when the process exits.
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { pauseRegistry, resumeRegistry, startRegistry } from './registry.ts';

type ClientArgs = ConstructorParameters<typeof SchemaRegistry>[0];
type ClientOptions = ConstructorParameters<typeof SchemaRegistry>[1];
type Middleware = NonNullable<ClientArgs['middlewares']>[number];

export interface RegistryClientOptions {
  /** Per-request timeout (socket idle) in ms; default 10 s, so a paused registry fails a request instead of hanging it. 0: none. */
  timeoutMs?: number;
  /** Retries on 5xx answers (the client's default is 3); timeouts are not retried. */
  retries?: number;
  /** Per-format options of the client (e.g. { [SchemaType.PROTOBUF]: { messageName } }). */
  options?: ClientOptions;
}

export interface TestRegistry {
  /** The Confluent-compatible API URL (what a sink's schemaRegistry.url takes). */
  url: string;
  /** The registry's JVM, when known (pause/resume need it). */
  pid: number | undefined;
  /** A @kafkajs/confluent-schema-registry client for `url` with the default client() options. */
  registry: SchemaRegistry;
  /** A new client with its own cache. */
  client(opts?: RegistryClientOptions): SchemaRegistry;
  /** The registry stops answering (SIGSTOP) but keeps its schemas. */
  pause(): void;
  /** It answers again (SIGCONT). */
  resume(): void;
}

let shared: Promise<TestRegistry> | undefined;

export function testRegistry(): Promise<TestRegistry> {
  shared ??= connect();
  return shared;
}

function timeoutMiddleware(timeoutMs: number): Middleware {
  return () => ({
    async prepareRequest(next) {
      return (await next()).enhance({ timeout: timeoutMs });
    },
  });
}

export function registryClient(url: string, { timeoutMs = 10_000, retries, options }: RegistryClientOptions = {}): SchemaRegistry {
  const args: ClientArgs = { host: url, clientId: 'test' };
  if (timeoutMs > 0) args.middlewares = [timeoutMiddleware(timeoutMs)];
  if (retries !== undefined) args.retry = { retries };
  return new SchemaRegistry(args, options);
}

let pausedPid: number | undefined;
let resumeHookInstalled = false;

async function connect(): Promise<TestRegistry> {
  let url = process.env.SCHEMA_REGISTRY_URL;
  let pid: number | undefined = Number(process.env.SCHEMA_REGISTRY_PID) || undefined;
  if (!url) {
    const own = await startRegistry();
    // the exit hook in registry.ts kills it when this process ends
    url = own.ccompatUrl;
    pid = own.pid;
  }
  const resolvedUrl = url;
  const needPid = (): number => {
    if (!pid) throw new Error('pause/resume need the registry JVM pid (env SCHEMA_REGISTRY_PID); this registry was started elsewhere');
    return pid;
  };
  return {
    url: resolvedUrl,
    pid,
    registry: registryClient(resolvedUrl),
    client: (opts) => registryClient(resolvedUrl, opts),
    pause() {
      const p = needPid();
      if (!resumeHookInstalled) {
        resumeHookInstalled = true;
        // never leave the run's shared registry stopped behind a failed test
        process.on('exit', () => {
          if (pausedPid) {
            try {
              process.kill(pausedPid, 'SIGCONT');
            } catch {
              // already gone
            }
          }
        });
      }
      pauseRegistry(p);
      pausedPid = p;
    },
    resume() {
      resumeRegistry(needPid());
      pausedPid = undefined;
    },
  };
}
