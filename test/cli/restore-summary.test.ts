/** The human restore summary names the replay pipe of the archive's flavour: mariadb-binlog | mariadb for MariaDB. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FIXTURES, KINGBUS, binlogDir, newKeyUrl, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';

async function restoreSummary(files: string[], base: string): Promise<{ stdout: string; script: string }> {
  const { dir } = binlogDir(files, base);
  const work = tempDir();
  const key = newKeyUrl(work);
  const store = `file://${path.join(work, 'store')}`;
  const archive = await runCli(['archive', '--binlog-dir', dir, '--store', store, '--key', key, '-q']);
  assert.equal(archive.code, 0, archive.stderr);
  const out = path.join(work, 'out');
  const restore = await runCli(['restore', '--store', store, '--key', key, '--out', out, '-q']);
  assert.equal(restore.code, 0, restore.stderr);
  return { stdout: restore.stdout, script: fs.readFileSync(path.join(out, 'replay.sh'), 'utf8') };
}

describe('restore summary', () => {
  it('MariaDB: mariadb-binlog … | mariadb, as replay.sh runs it', async () => {
    const { stdout, script } = await restoreSummary([path.join(FIXTURES, 'mariadb/rust_mysql_common/mariadb-bin.000001')], 'mariadb-bin');
    assert.match(stdout, /\n {2}mariadb-binlog --no-defaults mariadb-bin\.000001 \| mariadb\n/);
    assert.match(script, /\$\{MYSQL_CLIENT:-mariadb\}/);
  });

  it('MySQL: mysqlbinlog … | mysql', async () => {
    const { stdout, script } = await restoreSummary(KINGBUS.slice(0, 1), 'mysql-bin');
    assert.match(stdout, /\n {2}mysqlbinlog --no-defaults mysql-bin\.000001 \| mysql\n/);
    assert.match(script, /\$\{MYSQL_CLIENT:-mysql\}/);
  });
});
