/**
 * The one read of a binlog during archiving: bytes go to the encoder and, on the way, to the push-mode
 * inspector (server version, GTIDs, times, CRC of every event) and the progress callback. After the last byte
 * the file is stat'ed again: a binlog that changed while being read is the active one. Any problem is thrown
 * from inside the stream, so the store never makes the object visible, and kept in `failure` so the caller
 * can report the original error rather than the encoder's wrapper around it.
 *
 * The encoder reads the file straight into its segment buffers (`readInto`, a DirectSource): no 1 MiB stream
 * chunks to allocate, copy into segments and collect again. Iterating `chunks` still yields Buffers.
 */
import fs from 'node:fs';
import { type BinlogInfo, createBinlogInspector, openRegularFile } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';

/** Bytes per read when `chunks` is iterated rather than read into. */
const CHUNK = 1024 * 1024;

export interface BinlogChunks extends AsyncIterable<Buffer> {
  /** Reads the next bytes of the binlog into `into`; 0 once the end was reached and checked. */
  readInto(into: Uint8Array): Promise<number>;
  /** Closes the file early (a consumer that stops); idempotent. */
  close(): Promise<void>;
}

export interface BinlogSource {
  chunks: BinlogChunks;
  /** Set once the stream has ended cleanly. */
  info(): BinlogInfo;
  /** The inspection or change-detection error that ended the stream, if any. */
  failure(): unknown;
}

export interface BinlogSourceOptions {
  path: string;
  before: fs.Stats;
  onProgress?: (bytes: number) => void;
  /**
   * Checks the inspected binlog after its last byte, before the stream ends: throwing fails the stream, so the
   * store never makes the object visible (used to refuse a binlog that is not closed).
   */
  accept?: (info: BinlogInfo) => Promise<void>;
}

export function binlogSource(options: BinlogSourceOptions): BinlogSource {
  const inspector = createBinlogInspector({ path: options.path });
  let info: BinlogInfo | undefined;
  let failure: unknown;
  let handle: fs.promises.FileHandle | undefined;
  let position = 0;
  let ended = false;

  const close = async (): Promise<void> => {
    const h = handle;
    handle = undefined;
    await h?.close();
  };

  async function finish(): Promise<void> {
    ended = true;
    await close();
    info = inspector.finish();
    const after = await fs.promises.stat(options.path);
    if (after.size !== options.before.size || after.mtimeMs !== options.before.mtimeMs) {
      throw new ArchiverError('EBINLOGACTIVE', `binlog ${options.path} changed while it was being archived (${options.before.size} -> ${after.size} bytes)`, {
        hint: 'it is being written by the server: only closed binlogs can be archived',
      });
    }
    await options.accept?.(info);
  }

  async function readInto(into: Uint8Array): Promise<number> {
    if (failure !== undefined) throw failure as Error; // what ended the read before, again
    if (ended || into.length === 0) return 0;
    try {
      // Reads stop at the size the file had before: bytes a server appends meanwhile are never inspected as
      // if they were part of a closed binlog; the stat after the last byte reports the change (EBINLOGACTIVE).
      const want = Math.min(into.length, options.before.size - position);
      handle ??= (await openRegularFile(options.path)).fh;
      const { bytesRead } = want > 0 ? await handle.read(into, 0, want, position) : { bytesRead: 0 };
      if (bytesRead === 0) {
        await finish();
        return 0;
      }
      position += bytesRead;
      inspector.write(into.subarray(0, bytesRead));
      options.onProgress?.(position);
      return bytesRead;
    } catch (err) {
      failure = err;
      ended = true;
      await close().catch(() => undefined);
      throw err;
    }
  }

  const chunks: BinlogChunks = {
    readInto,
    close,
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          const buf = Buffer.allocUnsafe(CHUNK);
          const n = await readInto(buf);
          if (n === 0) return;
          yield buf.subarray(0, n);
        }
      } finally {
        await close();
      }
    },
  };

  return {
    chunks,
    info: () => {
      if (info === undefined) throw new ArchiverError('EINTERNAL', `binlog ${options.path} was not read to the end`);
      return info;
    },
    failure: () => failure,
  };
}
