/**
 * Writing one restored binlog under --out, safely. Every object is downloaded and authenticated, even when a file
 * of that name is already there (a file is "present" only if its bytes equal the authenticated plaintext). Bytes go
 * to a private staging directory created by this run (mode 0700, so nobody can plant a symlink in it), opened
 * with O_EXCL|O_NOFOLLOW, and are renamed into place only when the whole object decoded and verified; rename
 * replaces a symlink planted at the final name instead of following it. The decoded bytes also feed the binlog
 * inspector and the replay-boundary scan, so the restored file is never read twice.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Inspector } from '../binlog/inspector.ts';
import type { BinlogInfo } from '../binlog/index.ts';
import type { HashPlacement } from '../format/index.ts';
import { ArchiverError } from '../errors.ts';
import type { BatchKeys } from '../keys/batch-keys.ts';
import type { ManifestEntry } from '../store/manifest.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { FileBoundaryScan, FileScanResult } from './boundaries.ts';
import { planningDigestMismatch, planningFieldsOf, planningMismatches } from './planning-fields.ts';
import { throwIfInterrupted } from './interrupt.ts';
import { StagedFileWriter } from './staged-writer.ts';
import { openStoredObject } from './stored-object.ts';

export interface RestoredFile {
  status: 'restored' | 'present';
  scan: FileScanResult;
  info: BinlogInfo;
}

const STAGING_PREFIX = '.blarc-restore-';
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

export function outputError(err: unknown, file: string): ArchiverError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ArchiverError('ENOSPACE', `no space left on the --out volume while writing ${file}`, { cause: err, hint: 'free space or choose another --out, then run the restore again' });
  }
  return err instanceof ArchiverError ? err : new ArchiverError('EBADINPUT', `cannot write ${file}: ${(err as Error).message}`, { cause: err });
}

/** A file name from the store, used under --out: a plain name, never a path (defence in depth behind the manifest check). */
function assertPlainName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.startsWith('.') || /[/\\]|\p{Cc}/u.test(name)) {
    throw new ArchiverError('EFORMAT', `the manifest names the binlog ${JSON.stringify(name)}, which is not a plain file name`, { hint: 'the manifest is damaged or hostile: run `binlog-archiver verify`' });
  }
}

/** Creates this run's staging directory in --out, and removes those that killed runs left (their pid is gone). */
export async function createStaging(out: string): Promise<string> {
  for (const name of await fs.promises.readdir(out)) {
    const pid = Number(/^\.blarc-restore-(\d+)-/.exec(name)?.[1] ?? NaN);
    if (!Number.isSafeInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    const stale = path.join(out, name);
    const st = await fs.promises.lstat(stale);
    if (st.isDirectory() && st.uid === process.getuid?.()) await fs.promises.rm(stale, { recursive: true, force: true });
  }
  return fs.promises.mkdtemp(path.join(out, `${STAGING_PREFIX}${process.pid}-`));
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes a file in the staging directory and renames it to `final`: no reader ever sees it half-written. */
export async function writeViaStaging(staging: string, final: string, data: string, mode: number): Promise<void> {
  const staged = path.join(staging, path.basename(final));
  try {
    const handle = await fs.promises.open(staged, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(staged, final);
  } catch (err) {
    await fs.promises.rm(staged, { force: true });
    throw outputError(err, final);
  }
}

async function existingSha256(final: string): Promise<string | null> {
  let st: fs.Stats;
  try {
    st = await fs.promises.lstat(final);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw outputError(err, final);
  }
  if (!st.isFile()) {
    throw new ArchiverError('ECONFLICT', `${final} exists and is not a regular file (${st.isSymbolicLink() ? 'a symbolic link' : 'not a file'})`, { hint: 'restore into an empty --out directory' });
  }
  const hash = createHash('sha256');
  const handle = await fs.promises.open(final, fs.constants.O_RDONLY | O_NOFOLLOW);
  try {
    for await (const chunk of handle.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) hash.update(chunk as Buffer);
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** What decoding an entry needs: the store, the keys, the frames in flight at most, and a signal that stops it. */
export interface DecodeContext {
  store: ObjectStore;
  keys: BatchKeys;
  maxInFlight?: number;
  signal?: AbortSignal;
  /**
   * Where the first file that could weigh it chose to hash the plaintext (plaintext-hash.ts), kept for the files
   * after it: the binlogs of one server have the same shape, and weighing costs a file two frames hashed twice
   * whenever the worker is chosen.
   */
  learned?: { plaintextHash: HashPlacement };
}

export interface DecodedEntry {
  plaintextSha256: string;
  info: BinlogInfo;
}

/**
 * Downloads and authenticates one object, checks it against its entry (SHA-256, size, every planning field
 * re-derived from the bytes) and feeds the plaintext to the boundary scan and to `sink` (if any) as it streams.
 * The plaintext is complete and genuine only when this resolves.
 */
export async function decodeEntry(ctx: DecodeContext, entry: ManifestEntry, scan: FileBoundaryScan, sink?: (chunk: Uint8Array) => Promise<unknown>): Promise<DecodedEntry> {
  const name = entry.binlog.name;
  const objectName = ctx.store.describe(entry.object.key);
  const decoded = await openStoredObject({
    store: ctx.store,
    ref: { key: entry.object.key, format: entry.object.format, sidecarKey: entry.object.sidecarKey,
      identity: { source: entry.source.name, binlogFile: name, sequence: entry.binlog.sequence, correlationId: entry.correlationId, batchId: entry.batchId } },
    keys: ctx.keys,
    ...(ctx.maxInFlight === undefined ? {} : { maxInFlight: ctx.maxInFlight }),
    // Nothing here compares the object's own SHA-256: the plaintext's is checked against the entry below.
    hashObject: false,
    ...(ctx.learned === undefined ? {} : { plaintextHash: ctx.learned.plaintextHash }),
  });
  // Event CRC32s are not recomputed here: every byte is authenticated (GCM per frame, then the SHA-256 the
  // manifest records), so these are the very bytes whose CRCs the archive checked before sealing them.
  const inspector = new Inspector({ path: name, verifyChecksums: false, observer: scan, onTransaction: (t) => scan.onTransaction(t) });
  for await (const chunk of decoded) {
    throwIfInterrupted(ctx.signal);
    // The sink (a file write on libuv's thread pool, a socket) runs while this thread inspects the same bytes.
    const sunk = sink?.(chunk);
    try {
      inspector.write(chunk);
    } catch (err) {
      await sunk?.catch(() => undefined);
      throw err;
    }
    await sunk;
    // Hand the buffer back to the decoder for reuse: keeps restore memory flat (docs/PERFORMANCE.md).
    decoded.release?.(chunk);
  }
  const result = await decoded.result;
  if (result.plaintextSha256 !== entry.binlog.sha256 || result.plaintextLength !== entry.binlog.size) {
    throw new ArchiverError('EVERIFY', `${objectName} decodes to other bytes than the manifest records for ${name} (sha256 ${result.plaintextSha256}, expected ${entry.binlog.sha256})`);
  }
  if (ctx.learned !== undefined && result.plaintextHashChoice != null) ctx.learned.plaintextHash = result.plaintextHashChoice;
  const info = inspector.finish();
  // The plan was made from the entry's planning fields: if the bytes disagree, the plan may be wrong.
  const mismatches = planningMismatches(entry, planningFieldsOf(info));
  const unbound = planningDigestMismatch(entry, result.planningSha256);
  if (unbound !== null) mismatches.push(unbound);
  if (mismatches.length > 0) {
    throw new ArchiverError('EVERIFY', `the manifest entry of ${name} disagrees with its archived bytes (${objectName}): ${mismatches.join('; ')}`, {
      hint: 'the entry was edited or damaged, so the restore plan cannot be trusted: run `binlog-archiver verify`; nothing was replayed',
    });
  }
  return { plaintextSha256: result.plaintextSha256, info };
}

export async function restoreFile(ctx: DecodeContext & { out: string; staging: string }, entry: ManifestEntry, scan: FileBoundaryScan): Promise<RestoredFile> {
  const name = entry.binlog.name;
  assertPlainName(name);
  const final = path.join(ctx.out, name);
  const staged = path.join(ctx.staging, name);
  let handle: fs.promises.FileHandle | undefined;
  let writer: StagedFileWriter | undefined;
  try {
    handle = await fs.promises.open(staged, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o640);
    const file = new StagedFileWriter(handle);
    writer = file;
    const { plaintextSha256, info } = await decodeEntry(ctx, entry, scan, (chunk) => file.write(chunk));
    await file.sync();
    await handle.close();
    handle = undefined;
    const present = await existingSha256(final);
    if (present !== null && present !== plaintextSha256) {
      throw new ArchiverError('ECONFLICT', `${final} exists with other content than the archived ${name}`, { hint: 'restore into an empty --out directory' });
    }
    throwIfInterrupted(ctx.signal);
    if (present === null) await fs.promises.rename(staged, final);
    return { status: present === null ? 'restored' : 'present', scan: scan.finish(), info };
  } catch (err) {
    throw outputError(err, final);
  } finally {
    await writer?.settle();
    await handle?.close().catch(() => undefined);
    await fs.promises.rm(staged, { force: true });
  }
}
