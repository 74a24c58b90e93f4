// Process bookkeeping shared by the harness's servers (Kafka, the registry): a
// server's temp directory records its owner's pid and its own, so the next start
// can reap what a killed run left behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** True for a running process; a zombie (dead, not yet reaped by its new parent) counts as gone. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function isJvm(pid: number): boolean {
  try {
    const argv0 = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return path.basename(argv0) === 'java';
  } catch {
    return false;
  }
}

/**
 * Removes `<tmp>/<prefix>*` directories whose owner (owner.pid) is dead, killing
 * the server they name (serverPidFile) first if it still runs.
 */
export function reapStale(prefix: string, serverPidFile: string): void {
  const tmp = os.tmpdir();
  for (const name of fs.readdirSync(tmp)) {
    if (!name.startsWith(prefix)) continue;
    const dir = path.join(tmp, name);
    const read = (f: string) => Number(fs.readFileSync(path.join(dir, f), 'utf8'));
    let owner = NaN;
    try {
      owner = read('owner.pid');
    } catch {
      // unreadable: a start that died before writing it; fall through and reap
    }
    if (Number.isInteger(owner) && pidAlive(owner)) continue;
    try {
      const server = read(serverPidFile);
      // pid_max is 32768 on many machines: a dead server's pid is soon someone else's,
      // so only a JVM is killed (the servers reaped here are all JVMs).
      if (Number.isInteger(server) && pidAlive(server) && isJvm(server)) process.kill(server, 'SIGKILL');
    } catch {
      // no server was started
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The pids still running after up to `timeoutMs`: a SIGKILLed JVM with many
 * threads takes a moment to vanish, longer on a loaded machine.
 */
export async function stillRunning(pids: number[], timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(pidAlive);
  while (alive.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    alive = alive.filter(pidAlive);
  }
  return alive;
}
