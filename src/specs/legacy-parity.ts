/**
 * spec.migration.legacy in the archive Job: `archive --legacy URL --legacy-format F [--legacy-key file]`, the
 * legacy passphrase as a mounted Secret file (never an argument or an environment variable).
 */
import path from 'node:path';
import type { ResolvedPolicySpec } from '../api/types.ts';
import { type PodParts, emptyParts, secretFile } from './key-material.ts';

export const LEGACY_KEY_DIR = '/var/run/binlog-archiver/legacy-key';
export const LEGACY_KEY_FILE = 'passphrase';

export function legacyParity(migration: ResolvedPolicySpec['migration']): { args: string[]; parts: PodParts } {
  const legacy = migration?.legacy;
  if (legacy === undefined) return { args: [], parts: emptyParts() };
  const args = ['--legacy', legacy.location, '--legacy-format', legacy.format];
  if (legacy.keySecret === undefined) return { args, parts: emptyParts() };
  return {
    args: [...args, '--legacy-key', `file://${path.posix.join(LEGACY_KEY_DIR, LEGACY_KEY_FILE)}`],
    parts: secretFile('legacy-key', legacy.keySecret.name, legacy.keySecret.key, LEGACY_KEY_DIR, LEGACY_KEY_FILE),
  };
}
