/**
 * What a killed archive run leaves behind is cleaned up or taken over by the next run (issue 9 item 6):
 * staging files of dead writers in a file:// store are removed, a live writer's never.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { KINGBUS, binlogDir, newKeyUrl, tempDir } from '../support/archive.ts';

describe('debris of killed runs', () => {
  it('the next run removes staging files of dead writers, and keeps a live writer\'s', async () => {
    const { dir } = binlogDir(KINGBUS, 'mysql-bin');
    const work = tempDir();
    const storeDir = path.join(work, 'store');
    const staging = path.join(storeDir, '.staging');
    fs.mkdirSync(staging, { recursive: true });
    const deadPid = spawnSync('true').pid;
    const files = {
      dead: `${os.hostname()}.${deadPid}.00112233445566aa.part`,
      live: `${os.hostname()}.${process.pid}.00112233445566bb.part`,
      otherHost: `elsewhere.${deadPid}.00112233445566cc.part`,
      oldLegacy: '00112233445566dd.part',
      freshLegacy: '00112233445566ee.part',
    };
    for (const name of Object.values(files)) fs.writeFileSync(path.join(staging, name), 'partial object bytes');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    fs.utimesSync(path.join(staging, files.oldLegacy), twoDaysAgo, twoDaysAgo);

    await runArchive({ binlogDir: dir, store: openStore(`file://${storeDir}`), keyUrl: newKeyUrl(work), source: 'db1' });
    assert.deepEqual(fs.readdirSync(staging).sort(), [files.freshLegacy, files.live, files.otherHost].sort());
  });
});
