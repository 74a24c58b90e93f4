#!/usr/bin/env node
// The rockset-sink command line. Exit codes: 0 all good, 1 a problem was found,
// 2 a usage error (no paths, a path that cannot be read, an unknown command).
import fs from 'node:fs';
import { collectFiles, UsageError } from './files.ts';
import type { Problem } from './validate.ts';

const USAGE = `Usage:
  rockset-sink validate <file or directory>...   check RocksetSink resources in YAML files
  rockset-sink validate -                        the same for YAML read from stdin
  rockset-sink help

validate reads every *.yaml and *.yml file under the directories given (skipping
dot-directories, node_modules and Helm chart templates), checks each RocksetSink (rockset-sink.dev/v1alpha1)
with the same rules as the API server and the operator, and prints one line per
problem:  <file>: RocksetSink <namespace>/<name>: <field>: <problem and fix>
Other documents (Secrets, kustomizations, ...) are skipped. No cluster or network is
needed. Exit code 0: no problem; 1: problems; 2: usage error.
A kustomize overlay:  kubectl kustomize overlays/production | rockset-sink validate -
A Helm chart:         helm template my-release ./chart | rockset-sink validate -`;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

interface Io {
  out(line: string): void;
  err(line: string): void;
  readFile(file: string): string;
  readStdin(): string;
}

async function validateCommand(args: string[], io: Io): Promise<number> {
  const paths = args[0] === '--' ? args.slice(1) : args;
  if (args[0] !== '--') {
    const option = paths.find((a) => a.startsWith('-') && a !== '-');
    if (option === '-h' || option === '--help') {
      io.out(USAGE);
      return 0;
    }
    if (option) throw new UsageError(`unknown option ${option}`);
  }
  if (!paths.length) throw new UsageError('name at least one file or directory (or - for stdin)');

  const files: [name: string, read: () => string][] = [];
  for (const p of paths) {
    if (p === '-') files.push(['<stdin>', io.readStdin]);
    else for (const f of collectFiles([p])) files.push([f, () => io.readFile(f)]);
  }
  // Loaded only now: compiling the schemas takes a moment that help and usage errors need not wait for.
  const { formatProblem, validateText } = await import('./validate.ts');
  const problems: Problem[] = [];
  let sinks = 0;
  for (const [name, read] of files) {
    let text: string;
    try {
      text = read();
    } catch (err) {
      throw new UsageError(`${name}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, false);
    }
    const r = validateText(name, text);
    sinks += r.sinks;
    problems.push(...r.problems);
  }
  for (const p of problems) io.out(formatProblem(p));
  io.out(`validated ${plural(sinks, 'RocksetSink')} in ${plural(files.length, 'file')}: ${problems.length ? plural(problems.length, 'problem') : 'no problems'}`);
  return problems.length ? 1 : 0;
}

export async function run(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'validate':
        return await validateCommand(rest, io);
      case 'help':
      case '-h':
      case '--help':
        io.out(USAGE);
        return 0;
      case undefined:
        throw new UsageError('name a command');
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`rockset-sink: ${err.message}`);
    io.err(err.showUsage ? USAGE : 'Run rockset-sink help for usage.');
    return 2;
  }
}

if (import.meta.main) {
  process.exitCode = await run(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    readFile: (file) => fs.readFileSync(file, 'utf8'),
    readStdin: () => fs.readFileSync(0, 'utf8'),
  });
}
