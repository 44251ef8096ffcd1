/**
 * Volumes, mounts and environment that give a Job its credentials and key material: always as files (mounted
 * Secrets, a projected service-account token), never as environment variable values. The only variable set is a
 * path: AWS_SHARED_CREDENTIALS_FILE, which the AWS SDK's default chain reads.
 */
import path from 'node:path';
import type { V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ResolvedKeyProvider, ResolvedStorage } from '../api/types.ts';
import { SPEC_DEFAULTS } from './defaults.ts';

export interface PodParts {
  volumes: V1Volume[];
  mounts: V1VolumeMount[];
  env: V1EnvVar[];
}

export function emptyParts(): PodParts {
  return { volumes: [], mounts: [], env: [] };
}

export function mergeParts(...parts: PodParts[]): PodParts {
  return { volumes: parts.flatMap((p) => p.volumes), mounts: parts.flatMap((p) => p.mounts), env: parts.flatMap((p) => p.env) };
}

/** One Secret key as one file `<dir>/<file>`, mode 0440. */
export function secretFile(volume: string, secretName: string, key: string, dir: string, file: string): PodParts {
  return {
    volumes: [{ name: volume, secret: { secretName, items: [{ key, path: file }], defaultMode: SPEC_DEFAULTS.secretFileMode } }],
    mounts: [{ name: volume, mountPath: dir, readOnly: true }],
    env: [],
  };
}

/** S3 (and AWS KMS) credentials from a Secret holding a shared credentials file; a ServiceAccount needs nothing here. */
export function storageCredentials(storage: ResolvedStorage): PodParts {
  const secretName = storage.credentials?.secretName;
  if (secretName === undefined) return emptyParts();
  const parts = secretFile('aws-credentials', secretName, 'credentials', SPEC_DEFAULTS.awsCredentialsDir, 'credentials');
  parts.env.push({ name: 'AWS_SHARED_CREDENTIALS_FILE', value: path.posix.join(SPEC_DEFAULTS.awsCredentialsDir, 'credentials') });
  return parts;
}

/** The master key file (local), or Vault's token (projected service-account token or a token Secret) and CA. */
export function keyMaterial(provider: ResolvedKeyProvider): PodParts {
  if (provider.local !== undefined) {
    return secretFile('master-key', provider.local.secretName, provider.local.key, SPEC_DEFAULTS.keyDir, SPEC_DEFAULTS.keyFile);
  }
  const vault = provider.vault;
  // awsKms: credentials come with storageCredentials or the ServiceAccount; gcpKms: the ServiceAccount (Workload Identity).
  if (vault === undefined) return emptyParts();
  const parts: PodParts[] = [];
  const k8s = vault.kubernetesAuth;
  if (k8s !== undefined) {
    // A short-lived token for Vault only (its own audience when set), independent of automountServiceAccountToken.
    parts.push({
      volumes: [{
        name: 'vault-token',
        projected: {
          defaultMode: SPEC_DEFAULTS.secretFileMode,
          sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: k8s.expirationSeconds, ...(k8s.audience === undefined ? {} : { audience: k8s.audience }) } }],
        },
      }],
      mounts: [{ name: 'vault-token', mountPath: SPEC_DEFAULTS.vaultTokenDir, readOnly: true }],
      env: [],
    });
  } else if (vault.tokenSecret !== undefined) {
    parts.push(secretFile('vault-token', vault.tokenSecret.name, vault.tokenSecret.key, SPEC_DEFAULTS.vaultTokenDir, 'token'));
  }
  if (vault.caSecret !== undefined) parts.push(secretFile('vault-ca', vault.caSecret.name, vault.caSecret.key, SPEC_DEFAULTS.vaultCaDir, 'ca.crt'));
  return mergeParts(...parts);
}
