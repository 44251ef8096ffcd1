/**
 * The --store and --key URLs of the CLI, built from a resolved spec. Only paths of mounted files go in them, never
 * a secret. Parameter order is fixed so that the same spec always gives the same Job.
 */
import path from 'node:path';
import type { ResolvedKeyProvider, ResolvedStorage } from '../api/types.ts';
import { SPEC_DEFAULTS } from './defaults.ts';

function query(params: ReadonlyArray<readonly [string, string | undefined]>): string {
  const search = new URLSearchParams();
  for (const [k, v] of params) if (v !== undefined && v !== '') search.append(k, v);
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

function prefixPath(prefix: string | undefined): string {
  return prefix === undefined || prefix === '' ? '' : `/${prefix.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * `gs://bucket[/prefix]?endpoint=&retentionMode=&retentionDays=&eventBasedHold=true` for storage.gcs (credentials: the Pod's ServiceAccount), else
 * `s3://bucket[/prefix]?endpoint=&region=&forcePathStyle=true&objectLockMode=&objectLockDays=`.
 */
export function storeUrl(storage: ResolvedStorage): string {
  const gcs = storage.gcs;
  if (gcs !== undefined) {
    return `gs://${gcs.bucket}${prefixPath(gcs.prefix)}${query([
      ['endpoint', gcs.endpoint],
      ['retentionMode', gcs.retention?.mode],
      ['retentionDays', gcs.retention === undefined ? undefined : String(gcs.retention.days)],
      ['eventBasedHold', gcs.eventBasedHold === true ? 'true' : undefined],
    ])}`;
  }
  if (storage.bucket === undefined) throw new Error('storage has neither bucket nor gcs (the schema requires exactly one)');
  return `s3://${storage.bucket}${prefixPath(storage.prefix)}${query([
    ['endpoint', storage.endpoint],
    ['region', storage.region],
    ['forcePathStyle', storage.forcePathStyle ? 'true' : undefined],
    ['objectLockMode', storage.objectLock?.mode],
    ['objectLockDays', storage.objectLock === undefined ? undefined : String(storage.objectLock.days)],
  ])}`;
}

export const VAULT_TOKEN_FILE = path.posix.join(SPEC_DEFAULTS.vaultTokenDir, 'token');
export const VAULT_CA_FILE = path.posix.join(SPEC_DEFAULTS.vaultCaDir, 'ca.crt');
export const LOCAL_KEY_FILE = path.posix.join(SPEC_DEFAULTS.keyDir, SPEC_DEFAULTS.keyFile);

/** The KMS key id goes verbatim before `?` (an ARN is no URL host); only characters that would end it are escaped. */
function verbatim(key: string): string {
  return key.replace(/[%?#]/g, (c) => encodeURIComponent(c));
}

/** The --key URL; the files it names are mounted by keyMaterial() at the same paths. */
export function keyUrl(provider: ResolvedKeyProvider): string {
  if (provider.local !== undefined) return `file://${LOCAL_KEY_FILE}`;
  if (provider.gcpKms !== undefined) return `gcpkms://${provider.gcpKms.keyName}${query([['endpoint', provider.gcpKms.endpoint]])}`;
  if (provider.awsKms !== undefined) {
    return `awskms://${verbatim(provider.awsKms.keyId)}${query([['region', provider.awsKms.region], ['endpoint', provider.awsKms.endpoint]])}`;
  }
  const vault = provider.vault;
  if (vault === undefined) throw new Error('keyProvider has no provider (the schema requires exactly one)');
  const k8s = vault.kubernetesAuth;
  return `vault://${vault.transitKey}${query([
    ['addr', vault.address],
    ['mount', vault.mount],
    ...(k8s === undefined
      ? [['tokenFile', VAULT_TOKEN_FILE] as const]
      : [['role', k8s.role], ['jwtFile', VAULT_TOKEN_FILE], ['authMount', k8s.mountPath]] as const),
    ['namespace', vault.namespace],
    ['caFile', vault.caSecret === undefined ? undefined : VAULT_CA_FILE],
  ])}`;
}
