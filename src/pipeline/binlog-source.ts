/**
 * The one read of a binlog during archiving: chunks go to the encoder and, on the way, to the push-mode
 * inspector (server version, GTIDs, times, CRC of every event) and the progress callback. After the last byte
 * the file is stat'ed again: a binlog that changed while being read is the active one. Any problem is thrown
 * from inside the stream, so the store never makes the object visible, and kept in `failure` so the caller
 * can report the original error rather than the encoder's wrapper around it.
 */
import fs from 'node:fs';
import { type BinlogInfo, createBinlogInspector } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';

export interface BinlogSource {
  chunks: AsyncIterable<Buffer>;
  /** Set once the stream has ended cleanly. */
  info(): BinlogInfo;
  /** The inspection or change-detection error that ended the stream, if any. */
  failure(): unknown;
}

async function assertUnchanged(path: string, before: fs.Stats): Promise<void> {
  const after = await fs.promises.stat(path);
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
    throw new ArchiverError('EBINLOGACTIVE', `binlog ${path} changed while it was being archived (${before.size} -> ${after.size} bytes)`, {
      hint: 'it is being written by the server: only closed binlogs can be archived',
    });
  }
}

export function binlogSource(options: { path: string; before: fs.Stats; onProgress?: (bytes: number) => void }): BinlogSource {
  const inspector = createBinlogInspector({ path: options.path });
  let info: BinlogInfo | undefined;
  let failure: unknown;
  async function* read(): AsyncIterable<Buffer> {
    let bytes = 0;
    try {
      // Only the bytes the file had when it was chosen: a server appending to it is caught by the stat below.
      const end = options.before.size > 0 ? { end: options.before.size - 1 } : {};
      for await (const chunk of fs.createReadStream(options.path, { highWaterMark: 1024 * 1024, ...end })) {
        const buf = chunk as Buffer;
        inspector.write(buf);
        bytes += buf.length;
        options.onProgress?.(bytes);
        yield buf;
      }
      info = inspector.finish();
      await assertUnchanged(options.path, options.before);
    } catch (err) {
      // A binlog that looks damaged because it changed under the reader is the active one: say so.
      failure = err;
      if (err instanceof ArchiverError && err.code !== 'EBINLOGACTIVE') {
        await assertUnchanged(options.path, options.before).catch((changed: unknown) => {
          failure = changed;
        });
      }
      throw failure;
    }
  }
  return {
    chunks: read(),
    info: () => {
      if (info === undefined) throw new ArchiverError('EINTERNAL', `binlog ${options.path} was not read to the end`);
      return info;
    },
    failure: () => failure,
  };
}
