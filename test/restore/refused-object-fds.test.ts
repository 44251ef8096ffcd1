/**
 * An object refused at its header (or by the key check) leaves no file open: verify of a store with many damaged
 * objects must not run out of descriptors or leave them to the garbage collector (found by `npm run fuzz`, which saw
 * Node's "Closing file descriptor N on garbage collection" warnings). Counts this process's open descriptors.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runVerify } from '../../src/restore/verify-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { KINGBUS, binlogDir, listFiles, newKeyUrl, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';

const openFds = (): number => fs.readdirSync('/proc/self/fd').length;

describe('refused objects close their files', () => {
  it('verify of objects with a damaged header or under a wrong key leaves no descriptor open', async () => {
    const { dir } = binlogDir(KINGBUS, 'mysql-bin');
    const work = tempDir();
    const key = newKeyUrl(work);
    const storeDir = path.join(work, 'store');
    assert.equal((await runCli(['archive', '--binlog-dir', dir, '--store', `file://${storeDir}`, '--key', key, '-q'])).code, 0);
    const objects = listFiles(storeDir).filter((f) => f.endsWith('.blarc'));
    const first = path.join(storeDir, objects[0]!);
    const bytes = fs.readFileSync(first);
    bytes[20] = (bytes[20] ?? 0) ^ 0xff; // inside the header body: EFORMAT before any frame is read
    fs.writeFileSync(first, bytes);
    const store = openStore(`file://${storeDir}`);
    const wrongKey = newKeyUrl(work, 'other.key');
    await runVerify({ store, keyUrl: key });
    const before = openFds();
    for (let i = 0; i < 10; i++) {
      const damaged = await runVerify({ store, keyUrl: key });
      assert.ok(damaged.problems.some((p) => p.code === 'EFORMAT' || p.code === 'EAUTH'), JSON.stringify(damaged.problems));
      const wrong = await runVerify({ store, keyUrl: wrongKey });
      assert.ok(wrong.problems.length >= objects.length);
    }
    assert.ok(openFds() <= before + 2, `${openFds() - before} more descriptors open than before`);
  });
});
