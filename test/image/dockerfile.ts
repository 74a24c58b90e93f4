// Reads the Dockerfile the way the image test needs it (pure): the instructions of
// each stage with line continuations joined, the build-context paths the COPY lines
// take, and the dependency install command.

export interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s*(.*)$/.exec(full);
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    if (keyword === 'FROM') stage++;
    out.push({ keyword, args: m[2]!.replace(/\s+/g, ' '), stage });
  }
  return out;
}

/** Paths in the build context that COPY/ADD lines take (COPY --from copies between stages, not from the context). */
export function contextSources(instructions: Instruction[]): string[] {
  const sources = new Set<string>();
  for (const i of instructions) {
    if (i.keyword !== 'COPY' && i.keyword !== 'ADD') continue;
    const { from, operands } = copyParts(i);
    if (from !== undefined) continue;
    for (const src of operands.slice(0, -1)) sources.add(src.replace(/\/+$/, ''));
  }
  return [...sources];
}

/** The `npm ci ...` of a RUN line, as argv after `npm`. */
export function npmInstallArgs(instructions: Instruction[]): string[] | undefined {
  for (const i of instructions) {
    if (i.keyword !== 'RUN') continue;
    for (const part of i.args.split('&&')) {
      const words = part.trim().split(' ');
      if (words[0] === 'npm' && words[1] === 'ci') return words.slice(1);
    }
  }
  return undefined;
}

export function finalStage(instructions: Instruction[]): Instruction[] {
  return stage(instructions, Math.max(...instructions.map((i) => i.stage)));
}

/** A COPY/ADD line's `--from=` stage (if any) and its operands (sources, then destination). */
function copyParts(i: Instruction): { from: string | undefined; operands: string[] } {
  const words = i.args.split(' ');
  return { from: words.find((w) => w.startsWith('--from='))?.slice('--from='.length), operands: words.filter((w) => !w.startsWith('--')) };
}

/** The stage index of `FROM image AS name`, or -1. */
export function stageNamed(instructions: Instruction[], name: string): number {
  const from = instructions.find((i) => i.keyword === 'FROM' && new RegExp(`\\sAS\\s+${name}$`, 'i').test(i.args));
  return from ? from.stage : -1;
}

export function stage(instructions: Instruction[], index: number): Instruction[] {
  return instructions.filter((i) => i.stage === index);
}

/** `COPY --from=<stage> <src> <dest>` lines of a stage. */
export function stageCopies(instructions: Instruction[]): { from: string; src: string; dest: string }[] {
  const out: { from: string; src: string; dest: string }[] = [];
  for (const i of instructions) {
    if (i.keyword !== 'COPY') continue;
    const { from, operands } = copyParts(i);
    if (!from) continue;
    out.push({ from, src: operands[0]!, dest: operands[1]! });
  }
  return out;
}

/** A RUN line's command words (the first command of it). */
export function runCommands(instructions: Instruction[]): string[][] {
  return instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args.split('&&')[0]!.trim().split(' '));
}
