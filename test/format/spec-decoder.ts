/**
 * An independent, minimal decoder written from docs/FORMAT.md alone, with node:crypto and nothing from
 * src/: it checks that the specification is complete and that the implementation follows it. It returns
 * the decrypted zstd payloads (for the real `zstd -d`) and the trailer fields; decompression is left to
 * the caller.
 */
import { createDecipheriv, createHash, hkdfSync } from 'node:crypto';

export interface SpecDecoded {
  header: Record<string, unknown>;
  headerDigest: Buffer;
  payloads: Buffer[];
  version: number;
  /** Version 2 adds planningSha256 (docs/FORMAT.md 5.2); null in version 1. */
  trailer: { plaintextLength: bigint; frameCount: bigint; compressedLength: bigint; plaintextSha256: Buffer; planningSha256: Buffer | null };
}

function lp(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

export function identityBytes(id: { source: string; binlogFile: string; sequence: number; correlationId: string; batchId: string }): Buffer {
  const seq = Buffer.alloc(8);
  seq.writeBigUInt64BE(BigInt(id.sequence));
  return Buffer.concat([lp(id.source), lp(id.binlogFile), seq, lp(id.correlationId), lp(id.batchId)]);
}

function gcmOpen(key: Buffer, nonce: Buffer, aad: Buffer, body: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(aad);
  d.setAuthTag(body.subarray(body.length - 16));
  return Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]);
}

export function specDecode(object: Buffer, dek: Buffer): SpecDecoded {
  if (!object.subarray(0, 8).equals(Buffer.from('89424c41520d0a1a', 'hex'))) throw new Error('magic');
  const version = object.readUInt16BE(8);
  if ((version !== 1 && version !== 2) || object.readUInt16BE(10) !== 0) throw new Error('version/flags');
  const n = object.readUInt32BE(12);
  const headerBytes = object.subarray(0, 16 + n);
  const header = JSON.parse(headerBytes.subarray(16).toString('utf8')) as Record<string, unknown>;
  const H = createHash('sha256').update(headerBytes).digest();
  const id = header.identity as { source: string; binlogFile: string; sequence: number; correlationId: string; batchId: string };
  const I = identityBytes(id);
  const salt = Buffer.from('binlog-archiver/format/v1');
  const K = Buffer.from(hkdfSync('sha256', dek, salt, Buffer.concat([Buffer.from('aes-256-gcm key'), Buffer.from([0]), I]), 32));
  const check = Buffer.from(hkdfSync('sha256', dek, salt, Buffer.concat([Buffer.from('key check'), Buffer.from([0]), I]), 32));
  if (check.toString('hex') !== (header.key as { check: string }).check) throw new Error('key check');
  const payloads: Buffer[] = [];
  let offset = 16 + n;
  for (let i = 0n; ; i++) {
    const nonce = object.subarray(offset, offset + 12);
    const length = object.readUInt32BE(offset + 12);
    const body = object.subarray(offset + 16, offset + 16 + length);
    const next = offset + 16 + length;
    if (nonce.readUInt32BE(0) === 1) {
      const aad = Buffer.alloc(26 + 32 + 8);
      aad.write('binlog-archiver/v1/trailer', 0, 'ascii');
      H.copy(aad, 26);
      aad.writeBigUInt64BE(i, 58);
      const t = gcmOpen(K, nonce, aad, body);
      if (next !== object.length) throw new Error('trailing bytes');
      if (t.length !== (version === 1 ? 56 : 88)) throw new Error('trailer length');
      return {
        header,
        headerDigest: H,
        version,
        payloads,
        trailer: {
          plaintextLength: t.readBigUInt64BE(0),
          frameCount: t.readBigUInt64BE(8),
          compressedLength: t.readBigUInt64BE(16),
          plaintextSha256: t.subarray(24, 56),
          planningSha256: version === 1 ? null : t.subarray(56, 88),
        },
      };
    }
    if (nonce.readBigUInt64BE(4) !== i) throw new Error(`frame ${i} nonce`);
    const final = object.readUInt32BE(next) === 1 ? 1 : 0;
    const aad = Buffer.alloc(24 + 32 + 8 + 1);
    aad.write('binlog-archiver/v1/frame', 0, 'ascii');
    H.copy(aad, 24);
    aad.writeBigUInt64BE(i, 56);
    aad[64] = final;
    payloads.push(gcmOpen(K, nonce, aad, body));
    offset = next;
  }
}
