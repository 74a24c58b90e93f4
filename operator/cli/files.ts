// The YAML files named on the command line: a file as given (whatever its name), a
// directory walked for *.yaml and *.yml in a stable order, skipping dot-directories
// (.git of a GitOps repository), node_modules, and a Helm chart's templates/ (they
// are YAML only once rendered: `helm template ... | rockset-sink validate -`).
import fs from 'node:fs';
import path from 'node:path';

export class UsageError extends Error {
  /** Print the usage text after the message (not for a path that cannot be read: the usage would bury it). */
  readonly showUsage: boolean;
  constructor(message: string, showUsage = true) {
    super(message);
    this.name = 'UsageError';
    this.showUsage = showUsage;
  }
}

const YAML_FILE = /\.ya?ml$/i;

function walk(dir: string, out: string[]): void {
  const isChart = fs.existsSync(path.join(dir, 'Chart.yaml'));
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = path.join(dir, e.name);
    // A symlink is followed like what it points to.
    const isDir = e.isDirectory() || (e.isSymbolicLink() && fs.statSync(full, { throwIfNoEntry: false })?.isDirectory() === true);
    if (isDir) {
      if (!e.name.startsWith('.') && e.name !== 'node_modules' && !(isChart && e.name === 'templates')) walk(full, out);
    } else if (YAML_FILE.test(e.name)) out.push(full);
  }
}

/** The files to read for these arguments; throws UsageError for a path that cannot be read or a directory without YAML. */
export function collectFiles(args: string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(arg);
    } catch (err) {
      throw new UsageError(`${arg}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, false);
    }
    if (stat.isDirectory()) {
      const found: string[] = [];
      try {
        walk(arg, found);
      } catch (err) {
        throw new UsageError(`${arg}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, false);
      }
      if (!found.length) throw new UsageError(`${arg}: no .yaml or .yml files in it`, false);
      out.push(...found);
    } else out.push(arg);
  }
  return [...new Set(out)];
}
