/**
 * Test access to the servers of the test environment (.testenv/endpoints.json, written by `npm run testenv -- up`).
 * A test that needs a server fails when it is absent; it is skipped only when the user asked for a subset
 * of servers (TESTENV_SERVERS) that leaves it out.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { Endpoints } from '../../testenv/context.ts';
import { REPO_ROOT, stateDir } from '../../testenv/versions.ts';

export type { Endpoints };
export { REPO_ROOT };

let cached: Partial<Endpoints> | undefined;

function load(): Partial<Endpoints> {
  if (cached !== undefined) return cached;
  const file = path.join(stateDir(), 'endpoints.json');
  try {
    cached = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Endpoints>;
  } catch {
    throw new Error(`the test environment is not up (${file} is missing): run \`npm run testenv -- up\` or use \`npm test\`, which starts it`);
  }
  return cached;
}

type ServerKey = 'kube' | 's3' | 'kms' | 'vault' | 'mysql' | 'gcs' | 'gcpkms';

/** True if the user limited the run to servers that exclude `server`. */
export function excludedBySubset(server: ServerKey): boolean {
  const subset = process.env.TESTENV_SERVERS;
  return subset !== undefined && subset !== '' && !subset.split(',').map((s) => s.trim()).includes(server);
}

/** The endpoints of `server`; throws (the test fails) if the environment lacks it. */
export function need<K extends ServerKey>(server: K): K extends 'kube' ? Pick<Endpoints, 'kube' | 'kubeconfig' | 'kubeconfigUser'> : Endpoints[Exclude<K, 'kube'>] {
  const endpoints = load();
  if (server === 'kube') {
    if (endpoints.kube === undefined || endpoints.kubeconfig === undefined || endpoints.kubeconfigUser === undefined) {
      throw new Error('the test environment has no Kubernetes API server: run `npm run testenv -- up`');
    }
    return { kube: endpoints.kube, kubeconfig: endpoints.kubeconfig, kubeconfigUser: endpoints.kubeconfigUser } as never;
  }
  const value = endpoints[server];
  if (value === undefined) throw new Error(`the test environment has no ${server} server: run \`npm run testenv -- up\``);
  return value as never;
}

/** For `describe(name, { skip: skipUnlessIn('s3') }, ...)`: a reason only when a user-chosen subset excludes the server. */
export function skipUnlessIn(server: ServerKey): string | false {
  return excludedBySubset(server) ? `TESTENV_SERVERS=${process.env.TESTENV_SERVERS ?? ''} excludes ${server}` : false;
}

export function readSecret(file: string): string {
  return fs.readFileSync(file, 'utf8').trim();
}

export type { TestContext };
