// test-resources: gcpkms-key:shared
/**
 * The archive CLI killed with SIGKILL in the middle of a GCS resumable upload, then run again: the rerun finds
 * the session through its upload state object, skips the bytes GCS persisted (after checking they are the
 * bytes it re-produces), and the archive is exact; no upload state is left. Before that, a rerun whose recorded
 * encryption context (the AAD of the pending upload's wrapped data key) was altered is refused with EKEY and
 * archives nothing. The fault proxy holds every chunk after the second unanswered, so the kill lands mid-upload
 * however fast the archive runs.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { generateBinlog } from '../../bench/generate-binlog.ts';
import { isGcsStore } from '../../src/store/gcs-store.ts';
import { openStore } from '../../src/store/open-store.ts';
import { binlogDir, sha256, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';
import { killCliWhen } from '../support/kill-cli.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import { FaultProxy, gcsOperation, holdAfter } from '../support/fault-proxy.ts';
import { gcs as gcsEndpoint, gcsNames, gcsStoreUrl, rawGcs } from '../store/gcs-helpers.ts';
import { uniquePrefix } from '../store/helpers.ts';

interface Row { binlog: string; resumed: boolean; upload: { parts: number; partsUploaded: number; partsSkipped: number; partsReuploaded: number } | null }

const CHUNK = 1024 * 1024;

describe('archive to GCS killed mid-upload, then rerun', { skip: skipUnlessIn('gcs') || skipUnlessIn('gcpkms') || skipUnlessIn('mysql') }, () => {
  it('resumes the session to an exact archive and leaves no upload state; an altered recorded context is refused first', { timeout: 300_000 }, async (t) => {
    const { bucket } = need('gcs');
    const kms = need('gcpkms');
    const file = await generateBinlog(48);
    const { dir, names } = binlogDir([file], 'mysql-bin');
    const key = `gcpkms://${kms.keyName}?endpoint=${kms.endpoint}`;
    const prefix = uniquePrefix('resume');
    const proxy = new FaultProxy(gcsEndpoint().endpoint, holdAfter('resumable.chunk', 2), gcsOperation);
    t.after(() => proxy.close());
    const store = gcsStoreUrl(prefix, `&chunkSize=${CHUNK}&resumableThreshold=${2 * CHUNK}`, await proxy.listen());
    const env = { ...process.env, METADATA_SERVER_DETECTION: 'none' };
    const args = ['archive', '--binlog-dir', dir, '--store', store, '--key', key, '--source', 'db1', '--json', '-q'];
    const client = rawGcs();
    const gcs = openStore(store);
    assert.ok(isGcsStore(gcs));
    const uploads = `${prefix}/.uploads/`;
    const pendingKey = async (): Promise<string | undefined> => (await gcsNames(client, uploads))[0]?.slice(uploads.length).replace(/\.json$/, '');
    await killCliWhen(args, env, async () => {
      const k = await pendingKey();
      return k === undefined ? 0 : (await gcs.pendingUpload(k))?.parts ?? 0;
    }, 2);

    const objectKey = await pendingKey();
    assert.ok(objectKey !== undefined, 'the killed run leaves its upload state');
    const pending = await gcs.pendingUpload(objectKey);
    assert.ok(pending !== undefined, 'the killed run leaves its session open');
    const held = pending.parts;
    assert.equal(held, 2, 'GCS should hold exactly the two chunks the proxy let through');
    proxy.schedule = () => 'pass';
    assert.deepEqual(await gcsNames(client, `${prefix}/binlogs/`), [], 'nothing half-written looks complete');

    // The recorded context is the AAD of the pending upload's wrapped data key: altered, the rerun is refused.
    const stateFile = client.bucket(bucket).file(`${uploads}${objectKey}.json`);
    const [original] = await stateFile.download();
    const state = JSON.parse(original.toString('utf8')) as { meta: { context: string } };
    state.meta.context = JSON.stringify({ ...JSON.parse(state.meta.context) as Record<string, string>, source: 'db2' });
    await stateFile.save(JSON.stringify(state));
    const refused = await runCli(args, env);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /error EKEY: .*INVALID_ARGUMENT/);
    assert.deepEqual(await gcsNames(client, `${prefix}/binlogs/`), [], 'a refused rerun archives nothing');
    await stateFile.save(original);

    const rerun = await runCli(args, env);
    assert.equal(rerun.code, 0, rerun.stderr);
    const row = (JSON.parse(rerun.stdout) as { binlogs: Row[] }).binlogs[0]!;
    assert.equal(row.resumed, true);
    assert.ok(row.upload !== null);
    assert.equal(row.upload.partsSkipped, held, `GCS held ${held} chunks before the rerun`);
    assert.equal(row.upload.partsUploaded, row.upload.parts - held);
    assert.ok(row.upload.parts >= 3);
    t.diagnostic(`chunks held after SIGKILL: ${held}; rerun skipped ${row.upload.partsSkipped}, uploaded ${row.upload.partsUploaded} of ${row.upload.parts}`);
    assert.deepEqual(await gcsNames(client, uploads), [], 'no upload state is left');
    assert.equal(await gcs.pendingUpload(objectKey), undefined);

    const out = path.join(tempDir(), 'out');
    const restored = await runCli(['restore', '--store', store, '--key', key, '--out', out, '-q'], env);
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(sha256(path.join(out, names[0]!)), sha256(file));
    const verify = await runCli(['verify', '--store', store, '--key', key, '--json', '-q'], env);
    assert.equal(verify.code, 0, verify.stderr);
  });
});
