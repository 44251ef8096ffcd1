/**
 * The passphrase exactly as `openssl enc -pass file:PATH` (OpenSSL 3.0 apps/lib/apps.c app_get_pass) reads
 * it: BIO_gets of at most 1023 bytes, cut at the first LF; it is then a C string, so it also ends at the
 * first NUL. A CR before the LF is kept (verified against openssl 3.0.19 in test/format/openssl.test.ts).
 */
import { ArchiverError } from '../errors.ts';

/** openssl's APP_PASS_LEN is 1024, and BIO_gets keeps one byte for the terminator. */
export const OPENSSL_PASS_MAX = 1023;

function keyError(message: string, hint: string): ArchiverError {
  return new ArchiverError('EKEY', `${message}. ${hint}`, { hint });
}

/** Passphrase bytes openssl would derive keys from, given the key file's content. */
export function readOpensslPassFile(content: Uint8Array): Buffer {
  if (content.length === 0) {
    throw keyError('the passphrase file is empty (openssl also refuses it)', 'Write the passphrase on the first line of the key file');
  }
  let line = Buffer.from(content.subarray(0, Math.min(content.length, OPENSSL_PASS_MAX)));
  const lf = line.indexOf(0x0a);
  if (lf >= 0) line = line.subarray(0, lf);
  const nul = line.indexOf(0x00);
  if (nul >= 0) line = line.subarray(0, nul);
  const passphrase = Buffer.from(line);
  line.fill(0);
  checkOpensslPassphrase(passphrase);
  return passphrase;
}

/** A passphrase must survive the round trip through a key file read by openssl. */
export function checkOpensslPassphrase(passphrase: Uint8Array): void {
  if (passphrase.length === 0) {
    throw keyError('the passphrase is empty', 'Put a non-empty passphrase on the first line of the key file');
  }
  if (passphrase.length > OPENSSL_PASS_MAX) {
    throw keyError(`the passphrase is ${passphrase.length} bytes; openssl reads at most ${OPENSSL_PASS_MAX}`, 'Use a shorter passphrase');
  }
  if (passphrase.includes(0x0a) || passphrase.includes(0x00)) {
    throw keyError('the passphrase contains a line feed or NUL byte, which openssl -pass file: would cut off', 'Use a passphrase without line feeds or NUL bytes');
  }
}
