/**
 * Per-object keys. The batch data key (DEK) never encrypts anything itself: HKDF-SHA256 derives from it,
 * with the object identity in the info, one AES-256-GCM key per object (so counter nonces never repeat
 * under a key across objects) and a key check value (so a wrong DEK is reported as such, not as tampering).
 */
import { hkdfSync } from 'node:crypto';
import { ArchiverError } from '../errors.ts';
import { DEK_LENGTH, HKDF_INFO_FRAME_KEY, HKDF_INFO_KEY_CHECK, HKDF_SALT } from './constants.ts';
import { encodeIdentity, type ObjectIdentity } from './identity.ts';

export interface ObjectKeys {
  /** AES-256-GCM key for the frames and the trailer. */
  frameKey: Buffer;
  /** Published in the header: HKDF(DEK, "key check" || I). */
  keyCheck: Buffer;
  /** Overwrites the derived key material with zeros. */
  dispose(): void;
}

function hkdf(ikm: Uint8Array, label: Buffer, identity: Buffer, length: number): Buffer {
  const info = Buffer.concat([label, Buffer.from([0]), identity]);
  return Buffer.from(hkdfSync('sha256', ikm, HKDF_SALT, info, length));
}

export function checkDek(dek: Uint8Array, objectName: string): void {
  if (!(dek instanceof Uint8Array) || dek.length !== DEK_LENGTH) {
    const got = dek instanceof Uint8Array ? `${dek.length} bytes` : typeof dek;
    throw new ArchiverError('EKEY', `archive object ${JSON.stringify(objectName)}: the data key is ${got}, expected ${DEK_LENGTH} bytes. Pass the plaintext data key returned by the key provider, not the wrapped key`, {
      hint: 'Pass the plaintext data key returned by the key provider, not the wrapped key',
      context: { object: objectName },
    });
  }
}

export function deriveObjectKeys(dek: Uint8Array, identity: ObjectIdentity): ObjectKeys {
  const info = encodeIdentity(identity);
  const frameKey = hkdf(dek, HKDF_INFO_FRAME_KEY, info, 32);
  const keyCheck = hkdf(dek, HKDF_INFO_KEY_CHECK, info, 32);
  return {
    frameKey,
    keyCheck,
    dispose() {
      frameKey.fill(0);
    },
  };
}
