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

export function binlogSource(options: { path: string; before: fs.Stats; onProgress?: (bytes: number) => void }): BinlogSource {
  const inspector = createBinlogInspector({ path: options.path });
  let info: BinlogInfo | undefined;
  let failure: unknown;
  async function* read(): AsyncIterable<Buffer> {
    let bytes = 0;
    try {
      for await (const chunk of fs.createReadStream(options.path, { highWaterMark: 1024 * 1024 })) {
        const buf = chunk as Buffer;
        inspector.write(buf);
        bytes += buf.length;
        options.onProgress?.(bytes);
        yield buf;
      }
      info = inspector.finish();
      const after = await fs.promises.stat(options.path);
      if (after.size !== options.before.size || after.mtimeMs !== options.before.mtimeMs) {
        throw new ArchiverError('EBINLOGACTIVE', `binlog ${options.path} changed while it was being archived (${options.before.size} -> ${after.size} bytes)`, {
          hint: 'it is being written by the server: only closed binlogs can be archived',
        });
      }
    } catch (err) {
      failure = err;
      throw err;
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
