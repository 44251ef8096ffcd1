// test-resources: env-mariadb
/**
 * A session apply (`restore --apply-*`) fails closed on real MariaDB: it succeeds only when the target's executed
 * GTID position afterwards is its position before plus exactly the replayed transactions. A replay tool that
 * skips a binlog or runs past the stop position while exiting 0 (what other operators' users report as "restore
 * succeeded but data is missing") is caught; a target that keeps no GTID record is refused before anything is
 * applied unless the user accepts an unchecked apply.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stopProcess } from '../../testenv/proc.ts';
import type { Launched } from '../../testenv/servers/mariadb.ts';
import { archivedMoment } from '../support/archived-moment.ts';
import { freshTarget } from '../support/apply-target.ts';
import { REPO_ROOT, skipUnlessIn } from '../support/testenv.ts';
import { checksums } from '../support/workload.ts';

interface Result { status: number | null; json: Record<string, unknown>; stderr: string }

describe('session apply checks what the server executed (real MariaDB)', { skip: skipUnlessIn('mysql') }, () => {
  const servers: Launched[] = [];
  let work: string;
  let restoreArgs: string[];
  let db: string;
  /** The source at a moment in the middle of the last replayed binlog: tables and GTID position. */
  let moment: { gtid: string; sums: string };

  before(async () => {
    ({ db, work, moment, restoreArgs } = await archivedMoment('chk'));
  });
  after(async () => {
    for (const s of servers) await stopProcess(s.proc.pid, s.proc.exe);
  });

  function restore(out: string, args: string[], env: Record<string, string> = {}): Result {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'binlog-archiver.js'), ...restoreArgs, '--out', path.join(work, out), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    return { status: r.status, json: JSON.parse(r.stdout) as Record<string, unknown>, stderr: r.stderr };
  }

  /** A replay tool that exits 0 after doing the wrong thing (a bash wrapper around mariadb-binlog). */
  function wrongTool(name: string, body: string): string {
    const file = path.join(work, name);
    fs.writeFileSync(file, `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`, { mode: 0o755 });
    return file;
  }

  const errorOf = (r: Result): { code: string; message: string } => r.json.error as { code: string; message: string };

  it('applies and shows the check: the target ends at the source\'s tables and GTID position', { timeout: 180_000 }, async () => {
    const target = await freshTarget('chk-ok', work, servers);
    const r = restore('ok', target.args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(String(r.json.applyCheck), /^gtid_binlog_pos \S+: every replayed transaction and nothing past the target$/);
    assert.equal(await checksums((sql) => target.server.sql(sql), db), moment.sums);
    assert.equal((await target.server.sql('SELECT @@gtid_binlog_pos')).trim(), moment.gtid);
  });

  it('fails with EAPPLY when the replay tool skips the last binlog and exits 0', { timeout: 180_000 }, async () => {
    const target = await freshTarget('chk-skip', work, servers);
    const r = restore('skip', target.args, { BINLOG_TOOL: wrongTool('skip-last', 'exec mariadb-binlog "${@:1:$#-1}"') });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(errorOf(r).code, 'EAPPLY');
    assert.match(errorOf(r).message, /gtid_binlog_pos shows \S+ in domain 0, short of the last replayed transaction/);
    assert.match(r.stderr, /restore its base backup again/);
  });

  it('fails with EAPPLY when the replay runs past the stop position', { timeout: 180_000 }, async () => {
    const target = await freshTarget('chk-past', work, servers);
    const drop = 'args=(); for a in "$@"; do case "$a" in --stop-position=*) ;; *) args+=("$a") ;; esac; done; exec mariadb-binlog "${args[@]}"';
    const r = restore('past', target.args, { BINLOG_TOOL: wrongTool('no-stop', drop) });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(errorOf(r).code, 'EAPPLY');
    assert.match(errorOf(r).message, /past the last replayed transaction/);
  });

  it('refuses a target without a binlog before applying anything, unless an unchecked apply is accepted', { timeout: 180_000 }, async () => {
    const target = await freshTarget('chk-nobinlog', work, servers, { binlog: false });
    const refused = restore('refused', target.args);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(errorOf(refused).message, /refusing to apply: the result could not be checked afterwards \(log_bin is OFF on 127\.0\.0\.1:\d+/);
    assert.match(refused.stderr, /--apply-mode replication|--allow-unverified-apply/);
    assert.equal((await target.server.sql(`SHOW DATABASES LIKE '${db}'`)).trim(), '', 'nothing was applied');
    const accepted = restore('accepted', [...target.args, '--allow-unverified-apply']);
    assert.equal(accepted.status, 0, accepted.stderr);
    assert.match(String(accepted.json.applyCheck), /^not checked: log_bin is OFF/);
    assert.equal(await checksums((sql) => target.server.sql(sql), db), moment.sums);
  });

  it('refuses --allow-unverified-apply without a session apply', () => {
    const r = restore('usage', ['--allow-unverified-apply']);
    assert.equal(r.status, 2);
    assert.match(errorOf(r).message, /--allow-unverified-apply is for a session apply/);
  });
});
