/**
 * The archive worker killed with SIGKILL in the middle of a multipart upload, then run again: the rerun
 * resumes the pending upload with the earlier run's identity and data key, so the bytes it re-produces are
 * identical and only the missing parts are uploaded; no incomplete upload is left; the restore is exact.
 * The fault proxy holds every part after the second unanswered, so the kill lands mid-upload however fast the
 * archive runs (polling alone raced a fast run to its end).
 */
import { ListMultipartUploadsCommand, ListPartsCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { generateBinlog } from '../../bench/generate-binlog.ts';
import { binlogDir, newKeyUrl, sha256, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';
import { killCliWhen } from '../support/kill-cli.ts';
import { FaultProxy, holdAfter } from '../support/fault-proxy.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import { credentialsEnv, rawClient, s3 as s3Endpoint, storeUrlFor } from '../store/helpers.ts';

interface Row { binlog: string; resumed: boolean; upload: { parts: number; partsUploaded: number; partsSkipped: number; partsReuploaded: number } | null }

const cli = runCli;

describe('archive to S3 killed mid-upload, then rerun', { skip: skipUnlessIn('s3') || skipUnlessIn('mysql') }, () => {
  it('uploads only the missing parts and leaves no incomplete upload', { timeout: 300_000 }, async (t) => {
    const { bucket } = need('s3');
    const file = await generateBinlog(48);
    const { dir, names } = binlogDir([file], 'mysql-bin');
    const work = tempDir();
    const key = newKeyUrl(work);
    const prefix = `resume-${randomBytes(4).toString('hex')}`;
    // Small parts, one at a time, through a proxy that answers the first two parts and holds the rest.
    const proxy = new FaultProxy(s3Endpoint().endpoint, holdAfter('UploadPart', 2));
    t.after(() => proxy.close());
    const store = storeUrlFor(prefix, '&partSize=5MiB&multipartThreshold=10MiB&concurrency=1', await proxy.listen());
    const env = { ...process.env, ...credentialsEnv() };
    const s3 = rawClient();
    const args = ['archive', '--binlog-dir', dir, '--store', store, '--key', key, '--source', 'db1', '--json', '-q'];
    await killCliWhen(args, env, async () => {
      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/binlogs/` }));
      const upload = uploads.Uploads?.[0];
      if (upload?.UploadId === undefined || upload.Key === undefined) return 0;
      return (await s3.send(new ListPartsCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }))).Parts?.length ?? 0;
    }, 2);
    const pending = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/binlogs/` }));
    assert.equal(pending.Uploads?.length, 1, 'the killed run should leave its upload pending');
    const held = (await s3.send(new ListPartsCommand({ Bucket: bucket, Key: pending.Uploads[0]!.Key, UploadId: pending.Uploads[0]!.UploadId }))).Parts?.length ?? 0;
    assert.equal(held, 2, 'the store should hold exactly the two parts the proxy let through');
    proxy.schedule = () => 'pass';

    const rerun = await cli(args, env);
    assert.equal(rerun.code, 0, rerun.stderr);
    const row = (JSON.parse(rerun.stdout) as { binlogs: Row[] }).binlogs[0]!;
    assert.equal(row.resumed, true);
    assert.ok(row.upload !== null);
    assert.equal(row.upload.partsSkipped, held, `held ${held} parts before the rerun`);
    assert.equal(row.upload.partsReuploaded, 0);
    assert.equal(row.upload.partsUploaded, row.upload.parts - held);
    assert.ok(row.upload.parts >= 3);
    t.diagnostic(`parts held after SIGKILL: ${held}; rerun skipped ${row.upload.partsSkipped}, uploaded ${row.upload.partsUploaded} of ${row.upload.parts}`);
    const after = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }));
    assert.equal(after.Uploads?.length ?? 0, 0, 'an incomplete multipart upload was left behind');
    const out = path.join(work, 'out');
    const restored = await cli(['restore', '--store', store, '--key', key, '--out', out, '-q'], env);
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(sha256(path.join(out, names[0]!)), sha256(file));
    const verify = await cli(['verify', '--store', store, '--key', key, '--json', '-q'], env);
    assert.equal(verify.code, 0, verify.stderr);
    fs.rmSync(work, { recursive: true, force: true });
    s3.destroy();
  });
});
