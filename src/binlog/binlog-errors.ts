/**
 * The reader's errors, built in one place so every message names the file, the byte offset and what to do.
 */
import { ArchiverError } from '../errors.ts';
import { eventTypeName } from './constants.ts';

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

export function notBinlog(path: string, head: Uint8Array): ArchiverError {
  const seen = head.length === 0 ? 'it is empty' : `it starts with ${hex(head.subarray(0, 4))}`;
  let hint =
    'Check that the path names a binlog file itself (e.g. mysql-bin.000042), not its .index file, a relay-log info file or a copy that was converted as text.';
  if (head[0] === 0x1f && head[1] === 0x8b) hint = 'The file is gzip-compressed: decompress it (gunzip) and inspect the result.';
  else if (head[0] === 0xef && head[1] === 0xbf && head[2] === 0xbd) {
    hint = 'Byte 0xFE was replaced by the UTF-8 replacement character (EF BF BD): the file was mangled by a text conversion; take the original copy from the server.';
  }
  return new ArchiverError(
    'ENOTBINLOG',
    `${path} is not a MySQL/MariaDB binary log: ${seen} at offset 0, expected fe 62 69 6e (binlog) or fd 62 69 6e (MySQL-encrypted binlog)`,
    { hint, context: { path, offset: 0, head: hex(head.subarray(0, 4)) } },
  );
}

export function truncated(path: string, offset: number, what: string, size: number): ArchiverError {
  return new ArchiverError('EBINLOGTRUNCATED', `${path} is truncated: ${what} at offset ${offset} runs past the end of the file (${size} bytes)`, {
    hint: 'The file was copied while the server was still writing it, or the copy was cut short. Archive only closed binlogs, and copy this one again from the server.',
    context: { path, offset, size },
  });
}

export function checksumMismatch(path: string, offset: number, type: number, stored: number, computed: number): ArchiverError {
  const s = stored.toString(16).padStart(8, '0');
  const c = computed.toString(16).padStart(8, '0');
  return new ArchiverError(
    'EBINLOGCHECKSUM',
    `${path}: CRC32 mismatch in the ${eventTypeName(type)} event at offset ${offset}: stored ${s}, computed ${c}`,
    {
      hint: 'The bytes changed after MySQL wrote them (disk, copy or storage corruption). Copy the file again from the server; if the server copy fails too, check it with mysqlbinlog --verify-binlog-checksum.',
      context: { path, offset, eventType: type, stored: s, computed: c },
    },
  );
}

export function corrupt(path: string, offset: number, what: string, hint?: string): ArchiverError {
  return new ArchiverError('EBINLOGCORRUPT', `${path} is corrupt at offset ${offset}: ${what}`, {
    hint: hint ?? 'The file is damaged or is not a binlog this reader understands. Copy it again from the server and check it with mysqlbinlog.',
    context: { path, offset },
  });
}
