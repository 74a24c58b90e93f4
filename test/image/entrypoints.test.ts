// The image without a container engine, following the Dockerfile's own lines: the
// build stage's context files are copied into a clean directory and compiled with its
// tsc line; the final stage's context files go into another clean directory, with the
// deps stage's `npm ci` run there and the build stage's output copied in as its
// `COPY --from=build` says; both entrypoints then run from that directory. A module the
// build leaves out, a runtime import of a dev dependency or of a .ts file fails here.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SINK_ENTRYPOINT } from '../../operator/render/objects.ts';
import { contextSources, finalStage, npmInstallArgs, parseDockerfile, runCommands, stage, stageCopies, stageNamed, type Instruction } from './dockerfile.ts';

const root = path.resolve(import.meta.dirname, '../..');
const instructions: Instruction[] = parseDockerfile(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
const sources = contextSources(instructions);
const last = finalStage(instructions);
const buildStage = stage(instructions, stageNamed(instructions, 'build'));
const depsStage = stage(instructions, stageNamed(instructions, 'deps'));
let build = '';
let app = '';
/** .dockerignore semantics enough for an allow-list: the last matching pattern wins. */
function dockerIgnored(patterns: string[], rel: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/\/+$/, '');
    const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}(/.*)?$`);
    if (re.test(rel)) ignored = !negated;
  }
  return ignored;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// The image's environment, not this test runner's: nothing leaks in from the host.
function imageEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: app, NODE_ENV: 'production', ...extra };
}

/** The image's WORKDIR (/app) path of a stage maps to `dir`. */
const under = (dir: string, imagePath: string): string => path.join(dir, path.relative('/app', path.resolve('/app', imagePath)));

before(async () => {
  assert.ok(sources.length > 0, 'the Dockerfile copies nothing from the build context');
  assert.ok(buildStage.length && depsStage.length, 'the Dockerfile has a build and a deps stage');
  // The build stage: its context files, all dependencies (the repository's, dev included), its tsc line.
  build = fs.mkdtempSync(path.join(os.tmpdir(), 'rso-image-build-'));
  for (const src of contextSources(buildStage)) fs.cpSync(path.join(root, src), path.join(build, src), { recursive: true, dereference: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(build, 'node_modules'));
  const tsc = runCommands(buildStage).find((words) => words[0] === 'node' && words[1]?.endsWith('typescript/bin/tsc'));
  assert.ok(tsc, 'the build stage compiles with node node_modules/typescript/bin/tsc');
  const compiled = spawnSync(process.execPath, tsc.slice(1), { cwd: build, encoding: 'utf8', timeout: 180_000 });
  assert.equal(compiled.status, 0, `${tsc.join(' ')} failed:\n${compiled.stdout}${compiled.stderr}`);

  // The final stage: its context files, the deps stage's install, the build stage's output.
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'rso-image-'));
  for (const src of contextSources(last)) fs.cpSync(path.join(root, src), path.join(app, src), { recursive: true, dereference: true });
  const npmArgs = npmInstallArgs(depsStage);
  assert.ok(npmArgs, 'the deps stage has no `RUN npm ci` line');
  // npm's cache, filled by the repository's own `npm ci`, keeps this offline
  const npm = spawnSync('npm', [...npmArgs, '--prefer-offline', '--loglevel=error'], { cwd: app, encoding: 'utf8', timeout: 120_000 });
  assert.equal(npm.status, 0, `npm ${npmArgs.join(' ')} failed:\n${npm.stderr}`);
  for (const copy of stageCopies(last)) {
    if (copy.from === 'deps') {
      assert.equal(copy.src, '/app/node_modules', 'the final stage takes node_modules from the deps stage');
      continue;
    }
    assert.equal(copy.from, 'build', `unexpected COPY --from=${copy.from}`);
    fs.cpSync(under(build, copy.src), under(app, copy.dest), { recursive: true });
  }
});

after(() => {
  for (const dir of [app, build]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the Dockerfile builds a non-root image with only production dependencies', () => {
  const npmArgs = npmInstallArgs(depsStage) ?? [];
  assert.ok(npmArgs.includes('--omit=dev'), `npm ci must omit dev dependencies: ${npmArgs.join(' ')}`);
  const user = last.filter((i) => i.keyword === 'USER').at(-1);
  assert.equal(user?.args, '1000:1000', 'the final stage runs as uid/gid 1000 (the chart and the worker pods assume it)');
  assert.equal(last.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args, '/app');
  assert.deepEqual(JSON.parse(last.filter((i) => i.keyword === 'CMD').at(-1)?.args ?? 'null'), ['node', 'operator/main.js']);
  // JavaScript only: no TypeScript is stripped at run time, and the workers' command finds its file.
  const ts = fs.readdirSync(app, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.startsWith('node_modules'));
  assert.deepEqual(ts, [], 'TypeScript sources in the image');
  assert.ok(fs.existsSync(path.join(app, SINK_ENTRYPOINT)), `${SINK_ENTRYPOINT} (the workers' command) is in the image`);
  for (const base of instructions.filter((i) => i.keyword === 'FROM')) assert.doesNotMatch(base.args, /:latest\b/);

  // a devDependency may also be a production dependency's dependency (@types/node is):
  // the lockfile marks what only development needs
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const devOnly = Object.entries(lock.packages).filter(([p, meta]) => p && meta.dev).map(([p]) => p);
  assert.ok(devOnly.includes('node_modules/typescript'), 'the lockfile marks typescript as dev-only');
  for (const dev of devOnly) assert.ok(!fs.existsSync(path.join(app, dev)), `dev-only ${dev} was installed`);
  assert.ok(fs.existsSync(path.join(app, 'node_modules', 'kafkajs')), 'production dependencies are installed');
});

test('.dockerignore lets in exactly what the Dockerfile copies', () => {
  const patterns = fs.readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const src of sources) assert.ok(!dockerIgnored(patterns, src), `${src} is copied by the Dockerfile but excluded by .dockerignore`);
  for (const other of ['.git', 'node_modules', 'test', 'emulator', 'bench', 'scripts', 'charts', '.env']) {
    assert.ok(dockerIgnored(patterns, other), `${other} would reach the build context`);
  }
});

test('the sink entrypoint runs from the image layout: an invalid configuration exits 2 naming the field', async () => {
  const config = {
    kafka: { brokers: ['127.0.0.1:1'], groupId: 'g', topics: ['t'] },
    rockset: { apiServer: 'http://127.0.0.1:1', workspace: 'w', collection: 'c' },
    batch: { maxDocuments: 'lots' },
  };
  const termination = path.join(app, 'termination-log');
  const r = await run(process.execPath, ['--disable-warning=TimeoutNegativeWarning', SINK_ENTRYPOINT], {
    cwd: app,
    env: imageEnv({ ROCKSET_SINK_CONFIG_JSON: JSON.stringify(config), TERMINATION_MESSAGE_PATH: termination }),
    timeoutMs: 30_000,
  });
  assert.equal(r.code, 2, `exit ${r.code}\n${r.stderr}`);
  assert.match(r.stderr, /batch\.maxDocuments: must be integer/);
  assert.doesNotMatch(r.stderr, /ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
  assert.match(fs.readFileSync(termination, 'utf8'), /^ConfigInvalid: /);
});

test('the operator entrypoint loads every module it imports from the image layout', async () => {
  // ES modules link the whole static import graph before any code runs, so `--help`
  // answering proves every file and package the operator imports is in the image.
  const r = await run(process.execPath, ['operator/main.js', '--help'], { cwd: app, env: imageEnv({}), timeoutMs: 30_000 });
  assert.doesNotMatch(r.stderr, /ERR_MODULE_NOT_FOUND|Cannot find (module|package)|ERR_UNSUPPORTED/, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: node operator\/main\.js/);
});
