/**
 * System packages the test environment needs (Debian's MariaDB, zstd, openssl; for the node containerd, runc, the
 * CNI plugins, iproute2, iptables, conntrack). On a fresh machine, as root, `up` installs what is missing
 * (apt-get update, then apt-get install) and says so; otherwise it fails with the exact command to run.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TestenvError } from './errors.ts';

const run = promisify(execFile);

/** A command found on PATH (or in an sbin directory, which a non-root PATH often lacks) and the package that ships it. */
export interface PackageNeed {
  command: string;
  pkg: string;
  /** Where the command lives if not on PATH (the CNI plugins are in /usr/lib/cni). */
  dirs?: string[];
}

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function findCommand(name: string, extraDirs: string[] = []): string | undefined {
  const dirs = (process.env.PATH ?? '').split(':').filter((d) => d !== '').concat(SBIN, extraDirs);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export function missingPackages(needs: readonly PackageNeed[]): string[] {
  const missing = needs.filter((n) => findCommand(n.command, n.dirs) === undefined).map((n) => n.pkg);
  return [...new Set(missing)].sort();
}

export function installCommand(pkgs: readonly string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

async function apt(args: string[], logFile: string): Promise<void> {
  fs.appendFileSync(logFile, `$ apt-get ${args.join(' ')}\n`);
  try {
    const { stdout, stderr } = await run('apt-get', args, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 * 1024 * 1024,
    });
    fs.appendFileSync(logFile, stdout + stderr);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    fs.appendFileSync(logFile, (e.stdout ?? '') + (e.stderr ?? ''));
    throw new TestenvError('packages', `apt-get ${args.join(' ')} failed`, { logFile, cause: err });
  }
}

/**
 * Installs the Debian packages behind every missing command in one apt-get run, or throws naming the command.
 * TESTENV_NO_INSTALL=1 never installs (it only reports).
 */
export async function ensurePackages(needs: readonly PackageNeed[], logDir: string): Promise<void> {
  const missing = missingPackages(needs);
  if (missing.length === 0) return;
  const isRoot = process.getuid?.() === 0;
  const mayInstall = isRoot && process.env.TESTENV_NO_INSTALL !== '1' && findCommand('apt-get') !== undefined;
  if (!mayInstall) {
    const commands = needs.filter((n) => missing.includes(n.pkg)).map((n) => n.command);
    throw new TestenvError('packages', `${[...new Set(commands)].join(', ')} not found; install the Debian packages: ` +
      `${isRoot ? '' : 'sudo sh -c \''}${installCommand(missing)}${isRoot ? '' : '\''}`);
  }
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'apt.log');
  process.stderr.write(`testenv: installing Debian packages ${missing.join(' ')} (apt-get update, then apt-get install; log ${logFile})\n`);
  await apt(['update', '-qq'], logFile);
  await apt(['install', '-y', '-qq', '--no-install-recommends', ...missing], logFile);
  const still = missingPackages(needs);
  if (still.length > 0) {
    throw new TestenvError('packages', `installed ${missing.join(' ')} but ${still.join(' ')} still lack their commands`, { logFile });
  }
}
