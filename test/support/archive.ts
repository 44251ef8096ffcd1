/** Helpers for archive/restore tests: temporary binlog directories, key files, stores, and file hashes. */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../testenv/versions.ts';
import { closedFixture, copyClosed } from './close-binlog.ts';

export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'binlogs');

/**
 * Three consecutive, GTID-continuous MySQL 5.7 binlogs: the small sample most archive tests use. The third was
 * copied while the server had it open; the sample uses it as the server leaves it after rotating (close-binlog.ts).
 */
export const KINGBUS = ['mysql_bin.000011', 'mysql_bin.000012'].map((n) => path.join(FIXTURES, 'relaylog/kingbus/5.7', n))
  .concat(closedFixture(path.join(FIXTURES, 'relaylog/kingbus/5.7/mysql_bin.000013'), 'mysql_bin.000013', 'mysql_bin.000014'));

const made: string[] = [];

/**
 * A new temporary directory, removed when the test process exits (a test run directly with `node --test FILE`
 * left thousands in /tmp; `npm test` also removes each file's whole TMPDIR).
 */
export function tempDir(prefix = 'blarc-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (made.length === 0) process.once('exit', removeMade);
  made.push(dir);
  return dir;
}

function removeMade(): void {
  for (const dir of made) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // still mounted or held by a process that outlives the test: npm test's sweep deals with it
    }
  }
}

export function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** A fresh local master key file (64 hex characters), as a file:// URL. */
export function newKeyUrl(dir: string, name = 'master.key'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  return `file://${file}`;
}

/** A passphrase file for the openssl format, as a file:// URL. */
export function newPassphraseUrl(dir: string): string {
  const file = path.join(dir, 'passphrase');
  fs.writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  return `file://${file}`;
}

const seqName = (base: string, n: number): string => `${base}.${String(n).padStart(6, '0')}`;

/**
 * A binlog directory holding `files` renamed `<base>.000001`, `.000002`, ... plus one more, empty, file after
 * them that plays the active binlog (never archived). Each copy is closed as a server closes a binlog when it
 * rotates (close-binlog.ts): compare restored files with the copies in `dir`, not with the sources.
 */
export function binlogDir(files: string[], base = 'fx-bin'): { dir: string; names: string[] } {
  const dir = tempDir('blarc-binlogs-');
  const names = files.map((src, i) => {
    const name = seqName(base, i + 1);
    copyClosed(src, path.join(dir, name), seqName(base, i + 2));
    return name;
  });
  fs.writeFileSync(path.join(dir, `${base}.${String(files.length + 1).padStart(6, '0')}`), '');
  return { dir, names };
}

export function storeUrl(dir: string): string {
  return `file://${dir}`;
}

export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}
