/**
 * MySQL/MariaDB client/server protocol packets, the part a replication source needs: framing (3-byte length,
 * sequence id, payloads of 16 MiB and more split), length-encoded values, OK/ERR/EOF, the v10 handshake, the
 * handshake response, mysql_native_password, and one-row text result sets for the replica's setup queries.
 * Everything read from the peer is bounds-checked: a malformed packet is an error, never a wrong read.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ArchiverError } from '../errors.ts';

export const MAX_PAYLOAD = 0xffffff;

export const CAP = {
  LONG_PASSWORD: 0x1, LONG_FLAG: 0x4, CONNECT_WITH_DB: 0x8, PROTOCOL_41: 0x200, TRANSACTIONS: 0x2000,
  SECURE_CONNECTION: 0x8000, MULTI_RESULTS: 0x20000, PLUGIN_AUTH: 0x80000, CONNECT_ATTRS: 0x100000, PLUGIN_AUTH_LENENC: 0x200000,
} as const;

/** What this source offers: protocol 4.1 with plugin auth; no SSL (loopback or in-cluster), no compression. */
export const SERVER_CAPS = CAP.LONG_PASSWORD | CAP.LONG_FLAG | CAP.CONNECT_WITH_DB | CAP.PROTOCOL_41 | CAP.TRANSACTIONS |
  CAP.SECURE_CONNECTION | CAP.MULTI_RESULTS | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC;

export const NATIVE_PASSWORD = 'mysql_native_password';
/** MySQL 8's default; MySQL 9 clients may no longer offer mysql_native_password. */
export const SHA2_PASSWORD = 'caching_sha2_password';
export type AuthPlugin = typeof NATIVE_PASSWORD | typeof SHA2_PASSWORD;

function protocolError(message: string): ArchiverError {
  return new ArchiverError('EBADINPUT', `replication client sent a malformed packet: ${message}`);
}

/** Reassembles packets from socket data; a logical packet of 16 MiB or more arrives as several. */
export class PacketReader {
  #buffered: Buffer[] = [];
  #length = 0;
  #partial: Buffer[] = [];

  /** Adds socket data; returns the complete logical packets it finished ({ seq of the last piece, payload }). */
  push(data: Buffer): { seq: number; payload: Buffer }[] {
    this.#buffered.push(data);
    this.#length += data.length;
    const out: { seq: number; payload: Buffer }[] = [];
    let all = this.#buffered.length === 1 ? this.#buffered[0]! : Buffer.concat(this.#buffered, this.#length);
    let offset = 0;
    while (all.length - offset >= 4) {
      const len = all.readUIntLE(offset, 3);
      if (all.length - offset < 4 + len) break;
      const seq = all[offset + 3]!;
      this.#partial.push(all.subarray(offset + 4, offset + 4 + len));
      offset += 4 + len;
      if (len < MAX_PAYLOAD) {
        out.push({ seq, payload: this.#partial.length === 1 ? this.#partial[0]! : Buffer.concat(this.#partial) });
        this.#partial = [];
      }
    }
    all = all.subarray(offset);
    this.#buffered = all.length === 0 ? [] : [all];
    this.#length = all.length;
    return out;
  }
}

/** Frames one payload as packets starting at `seq`; returns the bytes and the next sequence id. */
export function frame(payload: Uint8Array, seq: number): { bytes: Buffer; seq: number } {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const len = Math.min(MAX_PAYLOAD, payload.length - offset);
    const head = Buffer.alloc(4);
    head.writeUIntLE(len, 0, 3);
    head[3] = seq & 0xff;
    seq = (seq + 1) & 0xff;
    parts.push(head, Buffer.from(payload.buffer, payload.byteOffset + offset, len));
    offset += len;
    // A payload that is an exact multiple of 16 MiB ends with an empty packet.
    if (len < MAX_PAYLOAD) break;
  }
  return { bytes: Buffer.concat(parts), seq };
}

export function lenencInt(n: number): Buffer {
  if (n < 251) return Buffer.from([n]);
  if (n < 0x10000) return Buffer.from([0xfc, n & 0xff, n >> 8]);
  if (n < 0x1000000) return Buffer.from([0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16]);
  const b = Buffer.alloc(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}

export function lenencString(s: string | Buffer): Buffer {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([lenencInt(bytes.length), bytes]);
}

export function okPacket(): Buffer {
  return Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);
}

export function errPacket(code: number, state: string, message: string): Buffer {
  const head = Buffer.alloc(3);
  head[0] = 0xff;
  head.writeUInt16LE(code, 1);
  return Buffer.concat([head, Buffer.from(`#${state.padEnd(5, '0').slice(0, 5)}`, 'latin1'), Buffer.from(message, 'utf8')]);
}

export function eofPacket(): Buffer {
  return Buffer.from([0xfe, 0x00, 0x00, 0x02, 0x00]);
}

/** A text result set of string columns (null = SQL NULL), as payloads in order. */
export function resultSet(columns: readonly string[], rows: readonly (readonly (string | null)[])[]): Buffer[] {
  const defs = columns.map((name) => {
    const fixed = Buffer.alloc(13);
    fixed[0] = 0x0c;
    fixed.writeUInt16LE(33, 1); // utf8_general_ci
    fixed.writeUInt32LE(1024, 3);
    fixed[7] = 0xfd; // VAR_STRING
    return Buffer.concat([lenencString('def'), lenencString(''), lenencString(''), lenencString(''), lenencString(name), lenencString(name), fixed]);
  });
  const rowPackets = rows.map((row) => Buffer.concat(row.map((v) => (v === null ? Buffer.from([0xfb]) : lenencString(v)))));
  return [lenencInt(columns.length), ...defs, eofPacket(), ...rowPackets, eofPacket()];
}

/** The v10 initial handshake offering `plugin` with a 20-byte scramble. */
export function handshakePacket(version: string, connectionId: number, scramble: Buffer, plugin: AuthPlugin = NATIVE_PASSWORD): Buffer {
  const fixed = Buffer.alloc(4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10);
  let o = 0;
  o = fixed.writeUInt32LE(connectionId, o);
  scramble.copy(fixed, o, 0, 8);
  o += 9; // 8 bytes of scramble, then a filler byte
  o = fixed.writeUInt16LE(SERVER_CAPS & 0xffff, o);
  fixed[o++] = 33;
  o = fixed.writeUInt16LE(0x0002, o); // SERVER_STATUS_AUTOCOMMIT
  o = fixed.writeUInt16LE(SERVER_CAPS >>> 16, o);
  fixed[o] = 21;
  return Buffer.concat([Buffer.from([10]), Buffer.from(`${version}\0`, 'latin1'), fixed, scramble.subarray(8, 20), Buffer.from([0]), Buffer.from(`${plugin}\0`, 'latin1')]);
}

export interface HandshakeResponse {
  caps: number;
  user: string;
  authResponse: Buffer;
  plugin: string | null;
}

function cString(b: Buffer, at: number, what: string): { value: string; next: number } {
  const end = b.indexOf(0, at);
  if (end < 0) throw protocolError(`${what} is not terminated`);
  return { value: b.toString('utf8', at, end), next: end + 1 };
}

function readLenenc(b: Buffer, at: number): { value: number; next: number } {
  const first = b[at];
  if (first === undefined) throw protocolError('a length is missing');
  if (first < 251) return { value: first, next: at + 1 };
  const size = first === 0xfc ? 2 : first === 0xfd ? 3 : first === 0xfe ? 8 : 0;
  if (size === 0 || at + 1 + size > b.length) throw protocolError('a length is malformed');
  return { value: size === 8 ? Number(b.readBigUInt64LE(at + 1)) : b.readUIntLE(at + 1, size), next: at + 1 + size };
}

export function parseHandshakeResponse(b: Buffer): HandshakeResponse {
  if (b.length < 32) throw protocolError('the handshake response is too short');
  const caps = b.readUInt32LE(0);
  if ((caps & CAP.PROTOCOL_41) === 0) throw protocolError('the client does not speak protocol 4.1');
  const user = cString(b, 32, 'the user name');
  let at = user.next;
  let authLen: number;
  if ((caps & CAP.PLUGIN_AUTH_LENENC) !== 0) {
    const l = readLenenc(b, at);
    authLen = l.value;
    at = l.next;
  } else {
    authLen = b[at] ?? 0;
    at += 1;
  }
  if (at + authLen > b.length) throw protocolError('the auth response is truncated');
  const authResponse = b.subarray(at, at + authLen);
  at += authLen;
  if ((caps & CAP.CONNECT_WITH_DB) !== 0 && at < b.length) at = cString(b, at, 'the database name').next;
  const plugin = (caps & CAP.PLUGIN_AUTH) !== 0 && at < b.length ? cString(b, at, 'the plugin name').value : null;
  return { caps, user: user.value, authResponse, plugin };
}

const digest = (algorithm: 'sha1' | 'sha256', ...parts: Buffer[]): Buffer => {
  const h = createHash(algorithm);
  for (const p of parts) h.update(p);
  return h.digest();
};

/** `response` equals stage1 XOR `masked`, compared in constant time. */
function provesStage1(response: Buffer, stage1: Buffer, masked: Buffer): boolean {
  for (let i = 0; i < masked.length; i++) masked[i] = masked[i]! ^ stage1[i]!;
  return response.length === masked.length && timingSafeEqual(response, masked);
}

/** mysql_native_password: the client proves it knows SHA1(password) for this scramble: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))). */
export function nativePasswordMatches(password: string, scramble: Buffer, response: Buffer): boolean {
  const stage1 = digest('sha1', Buffer.from(password, 'utf8'));
  return provesStage1(response, stage1, digest('sha1', scramble, digest('sha1', stage1)));
}

/**
 * caching_sha2_password's fast path: the client proves it knows SHA256(password) for this scramble, sending
 * SHA256(password) XOR SHA256(SHA256(SHA256(password)) + scramble). The source knows the password (it made it for
 * this run), so it never needs the full exchange (RSA or TLS) that a server with only a stored hash falls back to.
 */
export function sha2PasswordMatches(password: string, scramble: Buffer, response: Buffer): boolean {
  const stage1 = digest('sha256', Buffer.from(password, 'utf8'));
  return provesStage1(response, stage1, digest('sha256', digest('sha256', stage1), scramble));
}

/** Whether `response` proves the password for `scramble` under `plugin`. */
export function passwordMatches(plugin: AuthPlugin, password: string, scramble: Buffer, response: Buffer): boolean {
  return plugin === SHA2_PASSWORD ? sha2PasswordMatches(password, scramble, response) : nativePasswordMatches(password, scramble, response);
}

/** caching_sha2_password's AuthMoreData "fast authentication succeeded", sent before the OK. */
export function fastAuthSuccessPacket(): Buffer {
  return Buffer.from([0x01, 0x03]);
}

/** An AuthSwitchRequest to `plugin`, for clients that started with another one. */
export function authSwitchPacket(scramble: Buffer, plugin: AuthPlugin = NATIVE_PASSWORD): Buffer {
  return Buffer.concat([Buffer.from([0xfe]), Buffer.from(`${plugin}\0`, 'latin1'), scramble, Buffer.from([0])]);
}
