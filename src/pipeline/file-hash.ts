import { createHash } from 'node:crypto';
import { openRegularFile } from '../binlog/index.ts';

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
