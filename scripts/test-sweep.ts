/**
 * What a test file leaves behind under its own TMPDIR when it ends, or when it is killed before its `after` hooks
 * run: servers it started in their own process groups (MariaDB, a second node's etcd, kubelet, containerd) and the
 * mounts they made. Killed and unmounted, so the directory can be removed and the next run starts clean.
 */
import fs from 'node:fs';

/**
 * Whether a command line (NUL-separated arguments) names `dir` or a path under it. Not a bare substring test: the
 * run directories are numbered, and `…/1` is a prefix of `…/12`, a file that may be running beside it.
 */
export function namesDir(cmdline: string, dir: string): boolean {
  for (let at = cmdline.indexOf(dir); at >= 0; at = cmdline.indexOf(dir, at + 1)) {
    const next = cmdline[at + dir.length];
    if (next === undefined || next === '/' || next === '\0') return true;
  }
  return false;
}

function processesUnder(dir: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (namesDir(fs.readFileSync(`/proc/${entry}/cmdline`, 'latin1'), dir)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

function mountsUnder(dir: string): string[] {
  try {
    return fs.readFileSync('/proc/mounts', 'utf8').split('\n')
      .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
      .filter((m) => m.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length); // deepest first
  } catch {
    return [];
  }
}

/** Kills what still runs from `dir` and unmounts what is mounted under it; returns a line per thing done. */
export async function sweep(dir: string, umount: (target: string) => Promise<void>): Promise<string[]> {
  const done: string[] = [];
  const pids = processesUnder(dir);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
      done.push(`killed process ${pid}, left running`);
    } catch {
      // exited meanwhile
    }
  }
  if (pids.length > 0) await new Promise((r) => setTimeout(r, 500));
  for (const target of mountsUnder(dir)) {
    try {
      await umount(target);
      done.push(`unmounted ${target}`);
    } catch (err) {
      done.push(`could not unmount ${target}: ${(err as Error).message}`);
    }
  }
  return done;
}
