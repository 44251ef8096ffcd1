/**
 * A stand-in for Google Cloud KMS (google.cloud.kms.v1.KeyManagementService over gRPC, plaintext, loopback
 * only): no emulator of Cloud KMS is published. It serves what binlog-archiver uses, as the service documents
 * it, from the protos inside @google-cloud/kms:
 *  - Encrypt (under the primary version of a CryptoKey, or a named enabled version) and Decrypt (name is the
 *    CryptoKey; the version comes from the ciphertext), real AES-256-GCM under a random key per version, with
 *    additional_authenticated_data authenticated;
 *  - the CRC32C integrity fields: request checksums checked (INVALID_ARGUMENT on mismatch), response checksums
 *    and verified_* flags set;
 *  - GetCryptoKey, CreateCryptoKeyVersion, UpdateCryptoKeyPrimaryVersion and UpdateCryptoKeyVersion (state
 *    only), for rotation and disabled-version tests;
 *  - errors as the service returns them: NOT_FOUND (unknown key in a served key ring), PERMISSION_DENIED (any
 *    other project, location or key ring: the real service does not reveal whether they exist),
 *    FAILED_PRECONDITION (a version not ENABLED), INVALID_ARGUMENT (bad names, sizes, checksums, a ciphertext
 *    that does not authenticate).
 * Not modelled: IAM, asymmetric and MAC keys, HSM/EXTERNAL protection levels, key import, destruction.
 * Usage: node gcpkms-server.ts --port N --key-ring projects/P/locations/L/keyRings/R --keys a,b
 */
import { CRC32C } from '@google-cloud/storage';
import { GrpcClient, grpc } from 'google-gax';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';

type State = 'ENABLED' | 'DISABLED';
interface Version { n: number; key: Buffer; state: State; createTime: Date }
interface CryptoKey { name: string; primary: number; versions: Map<number, Version>; createTime: Date }
interface Int64 { value?: string | number }
type Call<T> = grpc.ServerUnaryCall<T, unknown>;
type Done = grpc.sendUnaryData<unknown>;

const MAX_DATA = 64 * 1024;
const MAGIC = Buffer.from('tkms');
const { values } = parseArgs({ options: { port: { type: 'string' }, 'key-ring': { type: 'string' }, keys: { type: 'string' } } });
const keyRing = values['key-ring'] ?? '';
if (!/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+$/.test(keyRing)) throw new Error('--key-ring projects/P/locations/L/keyRings/R is required');
const keys = new Map<string, CryptoKey>();

function newVersion(k: CryptoKey): Version {
  const v: Version = { n: k.versions.size + 1, key: randomBytes(32), state: 'ENABLED', createTime: new Date() };
  k.versions.set(v.n, v);
  return v;
}

for (const id of (values.keys ?? '').split(',').filter((s) => s !== '')) {
  const k: CryptoKey = { name: `${keyRing}/cryptoKeys/${id}`, primary: 1, versions: new Map(), createTime: new Date() };
  newVersion(k);
  keys.set(k.name, k);
}

class Refusal extends Error {
  readonly code: grpc.status;
  constructor(code: grpc.status, message: string) {
    super(message);
    this.code = code;
  }
}

const crc = (data: Buffer): number => {
  const c = new CRC32C();
  c.update(data);
  return c.valueOf() >>> 0;
};

function checkCrc(field: string, data: Buffer, given: Int64 | null | undefined): boolean {
  if (given?.value === undefined || given.value === null) return false;
  if (Number(given.value) !== crc(data)) {
    throw new Refusal(grpc.status.INVALID_ARGUMENT, `The checksum in field ${field}_crc32c did not match the data in field ${field}.`);
  }
  return true;
}

function bytes(field: string, value: unknown, required: boolean): Buffer {
  const b = Buffer.isBuffer(value) ? value : Buffer.alloc(0);
  if (required && b.length === 0) throw new Refusal(grpc.status.INVALID_ARGUMENT, `${field} is required.`);
  if (b.length > MAX_DATA) throw new Refusal(grpc.status.INVALID_ARGUMENT, `${field} exceeds the maximum size of ${MAX_DATA} bytes.`);
  return b;
}

/** The CryptoKey (and version, if the name has one) a request names. */
function resolve(name: unknown): { key: CryptoKey; version: number | undefined } {
  const m = typeof name === 'string' ? /^(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+)\/cryptoKeys\/([^/]+)(?:\/cryptoKeyVersions\/(\d+))?$/.exec(name) : null;
  if (m === null) throw new Refusal(grpc.status.INVALID_ARGUMENT, `Resource name [${String(name)}] does not represent a valid CryptoKey or CryptoKeyVersion.`);
  if (m[1] !== keyRing) throw new Refusal(grpc.status.PERMISSION_DENIED, `Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied on resource '${String(name)}' (or it may not exist).`);
  const key = keys.get(`${m[1]}/cryptoKeys/${m[2]}`);
  if (key === undefined) throw new Refusal(grpc.status.NOT_FOUND, `${m[1]}/cryptoKeys/${m[2]} not found.`);
  return { key, version: m[3] === undefined ? undefined : Number(m[3]) };
}

function usable(key: CryptoKey, n: number): Version {
  const v = key.versions.get(n);
  if (v === undefined) throw new Refusal(grpc.status.NOT_FOUND, `${key.name}/cryptoKeyVersions/${n} not found.`);
  if (v.state !== 'ENABLED') throw new Refusal(grpc.status.FAILED_PRECONDITION, `${key.name}/cryptoKeyVersions/${n} is not enabled, current state is: ${v.state}.`);
  return v;
}

function versionJson(key: CryptoKey, v: Version): Record<string, unknown> {
  return { name: `${key.name}/cryptoKeyVersions/${v.n}`, state: v.state, protectionLevel: 'SOFTWARE', algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', createTime: { seconds: String(Math.floor(v.createTime.getTime() / 1000)) } };
}

function keyJson(key: CryptoKey): Record<string, unknown> {
  const primary = key.versions.get(key.primary);
  return { name: key.name, purpose: 'ENCRYPT_DECRYPT', ...(primary === undefined ? {} : { primary: versionJson(key, primary) }), createTime: { seconds: String(Math.floor(key.createTime.getTime() / 1000)) } };
}

interface EncryptReq { name?: string; plaintext?: Buffer; additionalAuthenticatedData?: Buffer; plaintextCrc32c?: Int64; additionalAuthenticatedDataCrc32c?: Int64 }
interface DecryptReq { name?: string; ciphertext?: Buffer; additionalAuthenticatedData?: Buffer; ciphertextCrc32c?: Int64; additionalAuthenticatedDataCrc32c?: Int64 }

function encrypt(req: EncryptReq): Record<string, unknown> {
  const { key, version } = resolve(req.name);
  const plaintext = bytes('plaintext', req.plaintext, true);
  const aad = bytes('additional_authenticated_data', req.additionalAuthenticatedData, false);
  const verifiedPlaintext = checkCrc('plaintext', plaintext, req.plaintextCrc32c);
  const verifiedAad = checkCrc('additional_authenticated_data', aad, req.additionalAuthenticatedDataCrc32c);
  const v = usable(key, version ?? key.primary);
  const iv = randomBytes(12);
  const header = Buffer.concat([MAGIC, Buffer.from([0, 0, 0, 0]), iv]);
  header.writeUInt32BE(v.n, MAGIC.length);
  const cipher = createCipheriv('aes-256-gcm', v.key, iv);
  cipher.setAAD(Buffer.concat([Buffer.from(key.name), Buffer.from([0]), aad]));
  const ciphertext = Buffer.concat([header, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return {
    name: `${key.name}/cryptoKeyVersions/${v.n}`, ciphertext, ciphertextCrc32c: { value: String(crc(ciphertext)) },
    verifiedPlaintextCrc32c: verifiedPlaintext, verifiedAdditionalAuthenticatedDataCrc32c: verifiedAad, protectionLevel: 'SOFTWARE',
  };
}

function decrypt(req: DecryptReq): Record<string, unknown> {
  const { key, version } = resolve(req.name);
  if (version !== undefined) throw new Refusal(grpc.status.INVALID_ARGUMENT, 'Decrypt takes the name of a CryptoKey, not of a CryptoKeyVersion.');
  const ciphertext = bytes('ciphertext', req.ciphertext, true);
  const aad = bytes('additional_authenticated_data', req.additionalAuthenticatedData, false);
  checkCrc('ciphertext', ciphertext, req.ciphertextCrc32c);
  checkCrc('additional_authenticated_data', aad, req.additionalAuthenticatedDataCrc32c);
  const invalid = new Refusal(grpc.status.INVALID_ARGUMENT, 'Decryption failed: the ciphertext is invalid.');
  if (ciphertext.length < MAGIC.length + 4 + 12 + 16 || !ciphertext.subarray(0, MAGIC.length).equals(MAGIC)) throw invalid;
  const n = ciphertext.readUInt32BE(MAGIC.length);
  if (!key.versions.has(n)) throw invalid;
  const v = usable(key, n);
  const iv = ciphertext.subarray(MAGIC.length + 4, MAGIC.length + 16);
  const decipher = createDecipheriv('aes-256-gcm', v.key, iv);
  decipher.setAAD(Buffer.concat([Buffer.from(key.name), Buffer.from([0]), aad]));
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  let plaintext: Buffer;
  try {
    plaintext = Buffer.concat([decipher.update(ciphertext.subarray(MAGIC.length + 16, ciphertext.length - 16)), decipher.final()]);
  } catch {
    throw invalid;
  }
  return { plaintext, plaintextCrc32c: { value: String(crc(plaintext)) }, usedPrimary: n === key.primary, protectionLevel: 'SOFTWARE' };
}

function updateVersion(req: { cryptoKeyVersion?: { name?: string; state?: string }; updateMask?: { paths?: string[] } }): Record<string, unknown> {
  const { key, version } = resolve(req.cryptoKeyVersion?.name);
  if (version === undefined) throw new Refusal(grpc.status.INVALID_ARGUMENT, 'crypto_key_version.name must name a CryptoKeyVersion.');
  const v = key.versions.get(version);
  if (v === undefined) throw new Refusal(grpc.status.NOT_FOUND, `${String(req.cryptoKeyVersion?.name)} not found.`);
  const paths = req.updateMask?.paths ?? [];
  if (paths.length !== 1 || paths[0] !== 'state') throw new Refusal(grpc.status.INVALID_ARGUMENT, 'This server updates only the state field (update_mask: state).');
  const state = req.cryptoKeyVersion?.state;
  if (state !== 'ENABLED' && state !== 'DISABLED') throw new Refusal(grpc.status.INVALID_ARGUMENT, `State ${String(state)} cannot be set; use ENABLED or DISABLED.`);
  v.state = state;
  return versionJson(key, v);
}

function handler<T>(name: string, fn: (req: T) => Record<string, unknown>): (call: Call<T>, done: Done) => void {
  return (call, done) => {
    try {
      done(null, fn(call.request));
    } catch (err) {
      const refusal = err instanceof Refusal ? err : new Refusal(grpc.status.INTERNAL, `${name}: ${(err as Error).message}`);
      done({ code: refusal.code, details: refusal.message, name: 'Refusal', message: refusal.message });
    }
  };
}

const protos = path.join(import.meta.dirname, '..', '..', 'node_modules', '@google-cloud', 'kms', 'build', 'protos');
const loaded = new GrpcClient({ grpc }).loadProto(protos, 'google/cloud/kms/v1/service.proto') as unknown as {
  google: { cloud: { kms: { v1: { KeyManagementService: { service: grpc.ServiceDefinition } } } } };
};
const server = new grpc.Server();
server.addService(loaded.google.cloud.kms.v1.KeyManagementService.service, {
  Encrypt: handler('Encrypt', encrypt),
  Decrypt: handler('Decrypt', decrypt),
  GetCryptoKey: handler('GetCryptoKey', (req: { name?: string }) => {
    const { key, version } = resolve(req.name);
    if (version !== undefined) throw new Refusal(grpc.status.INVALID_ARGUMENT, 'GetCryptoKey takes a CryptoKey name.');
    return keyJson(key);
  }),
  CreateCryptoKeyVersion: handler('CreateCryptoKeyVersion', (req: { parent?: string }) => {
    const { key } = resolve(req.parent);
    return versionJson(key, newVersion(key));
  }),
  UpdateCryptoKeyPrimaryVersion: handler('UpdateCryptoKeyPrimaryVersion', (req: { name?: string; cryptoKeyVersionId?: string }) => {
    const { key } = resolve(req.name);
    usable(key, Number(req.cryptoKeyVersionId));
    key.primary = Number(req.cryptoKeyVersionId);
    return keyJson(key);
  }),
  UpdateCryptoKeyVersion: handler('UpdateCryptoKeyVersion', updateVersion),
});
server.bindAsync(`127.0.0.1:${values.port ?? '0'}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err !== null) throw err;
  process.stderr.write(`gcpkms stand-in listening on 127.0.0.1:${port} for ${keyRing}\n`);
});
