/**
 * Tests on the real node of the test environment (`npm run testenv -- up --node`, or TESTENV_NODE=1 npm test).
 * The node is opt-in: without it these tests are skipped with that reason.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Endpoints } from '../../testenv/context.ts';
import { stateDir } from '../../testenv/versions.ts';
import { need as needServer } from './testenv.ts';

const run = promisify(execFile);

function endpoints(): Partial<Endpoints> | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir(), 'endpoints.json'), 'utf8')) as Partial<Endpoints>;
  } catch {
    return undefined;
  }
}

/** A skip reason when the environment has no node; false when it has one. */
export function nodeSkip(): string | false {
  const e = endpoints();
  if ((e?.kube?.nodes ?? []).length > 0 && e?.image !== undefined) return false;
  return 'the environment has no node (opt-in: npm run testenv -- up --node, or TESTENV_NODE=1 npm test)';
}

type Server = Parameters<typeof needServer>[0];

export function need(server: 'node'): { kube: Endpoints['kube'] & { nodes: string[] }; image: string; kubeconfig: string };
export function need<K extends Server>(server: K): ReturnType<typeof needServer<K>>;
export function need(server: Server | 'node'): unknown {
  if (server !== 'node') return needServer(server);
  const e = endpoints();
  const nodes = e?.kube?.nodes;
  if (e?.kube === undefined || nodes === undefined || nodes.length === 0 || e.image === undefined || e.kubeconfig === undefined) {
    throw new Error('the test environment has no node: run `npm run testenv -- up --node`');
  }
  return { kube: { ...e.kube, nodes }, image: e.image, kubeconfig: e.kubeconfig };
}

/** SQL as the environment's archiver user, over TCP. */
export async function launchSql(mysql: Endpoints['mysql'], statement: string): Promise<void> {
  const password = fs.readFileSync(mysql.passwordFile, 'utf8').trim();
  await run('mariadb', ['--no-defaults', '-h', mysql.host, '-P', String(mysql.port), '-u', mysql.user, '--batch', '-e', statement], {
    env: { ...process.env, MYSQL_PWD: password },
  });
}
