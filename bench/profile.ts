// Summarizes a V8 .cpuprofile (node --cpu-prof): self time per function, largest first.
import fs from 'node:fs';
import path from 'node:path';

export interface ProfileEntry {
  name: string;
  where: string;
  selfMs: number;
  selfPct: number;
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export function summarizeProfile(file: string, top = 20): ProfileEntry[] {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<string, { name: string; where: string; us: number }>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i] as number);
    // A sample's time is the delta to the next one.
    const dt = deltas[i + 1] ?? 0;
    if (node === undefined || dt <= 0) continue;
    total += dt;
    const f = node.callFrame;
    const name = f.functionName === '' ? '(anonymous)' : f.functionName;
    const where = f.url === '' ? '' : `${shorten(f.url)}:${f.lineNumber + 1}`;
    const key = `${name}@${where}`;
    const e = selfUs.get(key) ?? { name, where, us: 0 };
    e.us += dt;
    selfUs.set(key, e);
  }
  return [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, selfPct: total > 0 ? (100 * e.us) / total : 0 }));
}

function shorten(url: string): string {
  const p = url.replace(/^file:\/\//, '');
  const i = p.indexOf('node_modules/');
  if (i >= 0) return p.slice(i + 'node_modules/'.length);
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
  return p.startsWith(root) ? path.relative(root, p) : p;
}

// `node bench/profile.ts file.cpuprofile [top]`
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node bench/profile.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  for (const e of summarizeProfile(file, Number(process.argv[3] ?? 25))) console.log(`${e.selfPct.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.name}  ${e.where}`);
}
