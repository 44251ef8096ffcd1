/**
 * The restore and plan Jobs' arguments are accepted by the real command line: every output shape the builder
 * makes (a volume, a session apply, a replication apply, the plan) is run through `binlog-archiver restore` with
 * the Pod's paths mapped to local files, and must get past argument checking to the archive (which is empty
 * here). A combination the CLI refuses (a session apply without --out once was) fails this test, not a Pod.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { V1Job } from '@kubernetes/client-node';
import type { BinlogRestoreSpec } from '../../src/api/index.ts';
import { buildPlanJob, buildRestoreJob } from '../../src/specs/index.ts';
import { newKeyUrl, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';
import { IMAGE, policy, restore } from './fixtures.ts';

const options = { image: IMAGE, correlationId: 'restore-cli', policy: policy() };

/** The container's args with the Pod's store, key, files, directories and $(POD_IP) mapped to local ones. */
function localArgs(job: V1Job, work: string): string[] {
  const args = [...(job.spec?.template.spec?.containers[0]?.args ?? [])];
  const set = (flag: string, value: string): void => {
    const i = args.indexOf(flag);
    if (i >= 0) args[i + 1] = value;
  };
  set('--store', `file://${path.join(work, 'store')}`);
  set('--key', newKeyUrl(work));
  for (const flag of ['--apply-user-file', '--apply-password-file']) {
    const file = path.join(work, flag.slice(2));
    fs.writeFileSync(file, 'x\n', { mode: 0o600 });
    set(flag, file);
  }
  set('--out', path.join(work, 'out'));
  set('--apply-listen', '127.0.0.1');
  set('--summary-file', path.join(work, 'summary.json'));
  return args;
}

describe('restore Job arguments against the real CLI', () => {
  const outputs: Array<{ name: string; output: BinlogRestoreSpec['output'] }> = [
    { name: 'volume', output: { volume: { claimName: 'scratch', path: 'run-1' } } },
    { name: 'auto apply (the default)', output: { server: { service: 'db', credentialsSecret: { name: 'admin' } } } },
    { name: 'session apply, unverified accepted', output: { server: { service: 'db', allowUnverifiedApply: true, credentialsSecret: { name: 'admin' } } } },
    { name: 'replication apply', output: { server: { service: 'db', applyMode: 'replication', credentialsSecret: { name: 'admin' } } } },
    { name: 'streamed session apply', output: { server: { service: 'db', applyMode: 'session', credentialsSecret: { name: 'admin' } } } },
  ];
  for (const o of outputs) {
    for (const [step, build] of [['restore', buildRestoreJob], ['plan', buildPlanJob]] as const) {
      it(`${step} Job, ${o.name}: past the argument checks to the archive`, async () => {
        const work = tempDir('blarc-jobargs-');
        fs.mkdirSync(path.join(work, 'store'));
        const r = await runCli(localArgs(build(restore({ output: o.output }), { ...options, summaryFile: '/dev/termination-log' }), work));
        assert.equal(r.code, 1, `${r.stderr}\n(exit 2 is a usage error: the builder and the CLI disagree)`);
        const error = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
        assert.equal(error.code, 'ENOTFOUND', error.message);
      });
    }
  }
});
