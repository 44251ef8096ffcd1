import { createHash } from 'node:crypto';
import { openRegularFile } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';
import { EDGE_BYTES, edgesDigest } from '../store/binlog-edges.ts';

/**
 * Hex SHA-256 of a regular file, or of its first `length` bytes, streamed (anything else is refused as
 * openRegularFile does).
 */
export async function sha256File(path: string, length?: number): Promise<string> {
  const hash = createHash('sha256');
  const { fh } = await openRegularFile(path);
  try {
    const range = length === undefined ? {} : { start: 0, end: length - 1 };
    if (length !== 0) for await (const chunk of fh.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false, ...range })) hash.update(chunk as Buffer);
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

/** The edges digest (src/store/binlog-edges.ts) of a regular file as it is now: 128 KiB read, however large it is. */
export async function edgesSha256File(path: string): Promise<{ size: number; edgesSha256: string }> {
  const { fh } = await openRegularFile(path);
  try {
    const { size } = await fh.stat();
    const want = Math.min(size, EDGE_BYTES);
    const readAt = async (position: number): Promise<Buffer> => {
      const buf = Buffer.alloc(want);
      for (let got = 0; got < want;) {
        const { bytesRead } = await fh.read(buf, got, want - got, position + got);
        if (bytesRead === 0) throw new ArchiverError('EBINLOGACTIVE', `${path} became shorter while being read (${size} bytes at the start)`);
        got += bytesRead;
      }
      return buf;
    };
    return { size, edgesSha256: edgesDigest(size, await readAt(0), await readAt(size - want)) };
  } finally {
    await fh.close();
  }
}
