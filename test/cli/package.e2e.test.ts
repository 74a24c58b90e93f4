// `npx rockset-sink validate` from the installed package, on the oldest Node the package
// accepts (engines: >=22): the package is packed as `npm pack` packs it (prepack compiles
// the TypeScript; the bin is JavaScript, as Node refuses to strip types under
// node_modules), installed into an empty project, and the command a GitOps CI job runs is
// run there with Node 22 first on PATH. Offline: the dependencies come from the npm
// cache the project's own `npm ci` filled, through a lockfile made from the project's.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

const root = path.resolve(import.meta.dirname, '../..');
const CACHE_DIR = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'rockset-sink-operator');
const NODE22_DIR = path.join(CACHE_DIR, 'node22');
const NODE22_BIN = path.join(NODE22_DIR, 'node_modules', '.bin');

interface Pkg {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: { node: string };
  dependencies: Record<string, string>;
}
type Lock = { packages: Record<string, { dev?: boolean }> };

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Pkg;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rso-pkg-'));
let env: NodeJS.ProcessEnv;

function run(cmd: string, args: string[], opts: SpawnSyncOptions & { cwd: string }): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, env, ...opts });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function ok(cmd: string, args: string[], cwd: string): string {
  const r = run(cmd, args, { cwd });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** Node 22 from npm's `node@22` package (the official binary), cached like scripts/env.sh caches Node 24. */
function node22(): string {
  const bin = path.join(NODE22_BIN, 'node');
  if (!fs.existsSync(bin)) ok('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', NODE22_DIR, 'node@22'], root);
  return bin;
}

before(() => {
  const bin = node22();
  // A CI job's shell, not an npm script's: npm run leaves npm_* settings (npm_node_execpath
  // among them) and node_modules/.bin on PATH, which point npx at the Node that ran npm.
  const outer = Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE' && k !== 'NODE_OPTIONS' && k !== 'INIT_CWD');
  const pathDirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d && !d.includes(`${path.sep}node_modules${path.sep}.bin`));
  env = { ...Object.fromEntries(outer), PATH: [NODE22_BIN, ...pathDirs].join(path.delimiter) };
  assert.match(ok(bin, ['--version'], root), /^v22\./);
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('npx rockset-sink validate runs from the installed package on Node 22', () => {
  // Pack a copy (prepack writes dist/ there, not into the working tree).
  const src = path.join(tmp, 'src');
  fs.mkdirSync(src);
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'sink', 'operator', 'crds', 'examples']) {
    fs.cpSync(path.join(root, f), path.join(src, f), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(src, 'node_modules'));
  const tarball = ok('npm', ['pack', '--pack-destination', tmp, '--loglevel=error'], src).trim().split('\n').pop()!;
  assert.equal(tarball, `${pkg.name}-${pkg.version}.tgz`);
  assert.match(pkg.bin['rockset-sink']!, /\.js$/, 'the bin is JavaScript');

  // An empty project depending on the tarball; its lockfile is the project's, without dev dependencies.
  const ci = path.join(tmp, 'gitops-ci');
  fs.mkdirSync(ci);
  const dep = `file:../${tarball}`;
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as Lock;
  const packages: Record<string, unknown> = {
    '': { dependencies: { [pkg.name]: dep } },
    [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: dep, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [at, entry] of Object.entries(lock.packages)) if (at && !entry.dev) packages[at] = entry;
  fs.writeFileSync(path.join(ci, 'package.json'), JSON.stringify({ name: 'gitops-ci', private: true, dependencies: { [pkg.name]: dep } }));
  fs.writeFileSync(path.join(ci, 'package-lock.json'), JSON.stringify({ name: 'gitops-ci', lockfileVersion: 3, requires: true, packages }));
  ok('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], ci);
  const installed = path.join(ci, 'node_modules', pkg.name);
  assert.equal(fs.readdirSync(installed, { recursive: true }).filter((f) => String(f).endsWith('.ts')).length, 0, 'no TypeScript in the package');

  // The README's GitOps CI command, on a good tree and on a bad file.
  fs.cpSync(path.join(root, 'examples'), path.join(ci, 'sinks'), { recursive: true });
  const good = run('npx', ['--no-install', 'rockset-sink', 'validate', 'sinks/minimal/'], { cwd: ci });
  assert.equal(good.status, 0, good.stderr);
  assert.equal(good.stdout, 'validated 1 RocksetSink in 2 files: no problems\n');
  fs.cpSync(path.join(root, 'test/cli/fixtures/bad/rockset-names.yaml'), path.join(ci, 'sinks', 'bad.yaml'));
  const bad = run('npx', ['--no-install', 'rockset-sink', 'validate', 'sinks/bad.yaml'], { cwd: ci });
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stdout, /spec\.rockset\.collection: "orders\/with slash" is not valid/);
  // It really ran on Node 22 (npx runs the bin with the first node on PATH).
  assert.match(run('npx', ['--no-install', 'node', '--version'], { cwd: ci }).stdout, /^v22\./);
});
