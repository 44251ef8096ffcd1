/**
 * The 512-byte header of a MySQL-encrypted binlog (`binlog_encryption=ON`, `sql/rpl_log_encryption.h`). The body
 * after it is AES-256-CTR ciphertext of a whole plain binlog; this tool archives it as it is and never decrypts
 * it, but records which keyring key it needs.
 */
import { ENCRYPTED_BINLOG_MAGIC, ENCRYPTION_HEADER_SIZE } from './constants.ts';

export interface MysqlEncryptionHeader {
  readonly kind: 'mysql';
  /** Header format version; MySQL knows only 1. */
  readonly version: number;
  /** Keyring key that wraps the file password, `MySQLReplicationKey_<server_uuid>_<seqno>`. */
  readonly keyId: string;
  /** Parsed from keyId when it has MySQL's shape. */
  readonly serverUuid: string | null;
  readonly keySeqno: number | null;
  readonly headerSize: number;
  /** Bytes of the encrypted plain binlog that follows the header. */
  readonly encryptedBodySize: number;
}

const FIELD_END = 0;
const FIELD_KEY_ID = 1;
const FIELD_PASSWORD = 2;
const FIELD_IV = 3;
const PASSWORD_SIZE = 32;
const IV_SIZE = 16;
const KEY_ID_RE = /^MySQLReplicationKey_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_(\d+)$/i;

export type EncryptionHeaderResult = MysqlEncryptionHeader | { kind: 'error'; offset: number; message: string };

/** Decodes the header; `header` holds the file's first 512 bytes, `fileSize` the whole file's size. */
export function parseEncryptionHeader(header: Buffer, fileSize: number): EncryptionHeaderResult {
  if (!header.subarray(0, 4).equals(ENCRYPTED_BINLOG_MAGIC)) return { kind: 'error', offset: 0, message: 'no encrypted-binlog magic' };
  const version = header[4] as number;
  if (version !== 1) {
    return { kind: 'error', offset: 4, message: `encryption header version ${version} is not supported (MySQL writes version 1)` };
  }
  let keyId: string | null = null;
  let password = false;
  let iv = false;
  let off = 5;
  // Fields: type byte; KEY_ID is type+length+value, password and IV have fixed sizes; type 0 ends the list.
  while (off < ENCRYPTION_HEADER_SIZE) {
    const type = header[off] as number;
    if (type === FIELD_END) break;
    if (type === FIELD_KEY_ID) {
      const len = header[off + 1] ?? 0;
      if (off + 2 + len > ENCRYPTION_HEADER_SIZE) return { kind: 'error', offset: off, message: 'key id runs past the 512-byte header' };
      keyId = header.toString('latin1', off + 2, off + 2 + len);
      off += 2 + len;
    } else if (type === FIELD_PASSWORD) {
      password = true;
      off += 1 + PASSWORD_SIZE;
    } else if (type === FIELD_IV) {
      iv = true;
      off += 1 + IV_SIZE;
    } else {
      return { kind: 'error', offset: off, message: `unknown encryption header field type ${type}` };
    }
  }
  if (keyId === null || !password || !iv || off > ENCRYPTION_HEADER_SIZE) {
    return { kind: 'error', offset: 5, message: 'encryption header lacks its key id, encrypted file password or IV' };
  }
  const m = KEY_ID_RE.exec(keyId);
  return {
    kind: 'mysql',
    version,
    keyId,
    serverUuid: m === null ? null : (m[1] as string).toLowerCase(),
    keySeqno: m === null ? null : Number(m[2]),
    headerSize: ENCRYPTION_HEADER_SIZE,
    encryptedBodySize: fileSize - ENCRYPTION_HEADER_SIZE,
  };
}
