/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Cloud KMS's integrity fields
 * (plaintext_crc32c, ciphertext_crc32c, ...). Small and table-driven: the key provider checksums at most a few
 * hundred bytes per batch. Checked against the RFC 3720 test vectors in test/keys/gcpkms-provider.test.ts.
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) c = (TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
