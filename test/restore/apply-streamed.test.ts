// test-resources: env-mariadb
/**
 * `restore --apply-*` without --out on real MariaDB: nothing is written where it runs. In session mode the verified
 * binlogs reach the server through `mariadb-binlog -` (one per binlog) into one client session; in the default
 * `auto` mode the target's replication applier is used where it can be, and a session where it cannot (here: the
 * target has the binlogs' server id, so its replica would skip them), with nothing applied twice. Every run ends
 * at exactly the source's tables and GTID position at the target moment.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stopProcess } from '../../testenv/proc.ts';
import type { Launched } from '../../testenv/servers/mariadb.ts';
import { tempDir } from '../support/archive.ts';
import { archivedMoment } from '../support/archived-moment.ts';
import { type ApplyTargetServer, freshTarget } from '../support/apply-target.ts';
import type { MysqlClient } from '../support/mysql.ts';
import { skipUnlessIn } from '../support/testenv.ts';
import { type WatchedRun, startWatched } from '../support/watched-cli.ts';
import { checksums } from '../support/workload.ts';

interface Summary { applyMode: string; applyModeReason: string; executedGtids: string | null; applyCheck: string; replayFiles: string[] }

describe('apply without files: streamed session, and the auto mode (real MariaDB)', { skip: skipUnlessIn('mysql') }, () => {
  let client: MysqlClient;
  const servers: Launched[] = [];
  let work: string;
  let restoreArgs: string[];
  let db: string;
  let sourceServerId: string;
  let moment: { gtid: string; sums: string };

  before(async () => {
    ({ client, db, work, moment, restoreArgs } = await archivedMoment('strm'));
    sourceServerId = (await client.query('SELECT @@server_id')).trim();
  });
  after(async () => {
    for (const s of servers) await stopProcess(s.proc.pid, s.proc.exe);
  });

  /** Runs the restore in a directory of its own (cwd and TMPDIR), recording every file that appears there. */
  async function run(target: ApplyTargetServer, args: string[], env: Record<string, string> = {}): Promise<WatchedRun & { summary: Summary }> {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const r = await startWatched([...restoreArgs, ...target.args, ...args], tempDir('blarc-run-'), { marker: db }).done;
      const parsed = JSON.parse(r.stdout) as Summary;
      return { ...r, summary: parsed };
    } finally {
      for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
    }
  }

  /** Files it wrote, but the client's 0600 option file (credentials, removed once the client connected). */
  const written = (r: WatchedRun): string[] => r.seen.filter((f) => !/^blarc-apply-\d+-[^/]+\/client\.cnf$/.test(f));

  async function assertAtMoment(target: ApplyTargetServer, what: string): Promise<void> {
    assert.equal(await checksums((sql) => target.server.sql(sql), db), moment.sums, what);
    assert.equal((await target.server.sql('SELECT @@gtid_binlog_pos')).trim(), moment.gtid, what);
  }

  it('session: streams the verified binlogs through mariadb-binlog\'s stdin, writes no file, and reaches the target exactly', { timeout: 180_000 }, async () => {
    const target = await freshTarget('strm-session', work, servers);
    const r = await run(target, ['--apply-mode', 'session']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(written(r), [], 'the restore wrote files where it ran');
    assert.equal(r.summary.applyMode, 'session');
    assert.ok(r.summary.replayFiles.length >= 3, 'the range spans several binlogs, each its own mariadb-binlog process');
    assert.equal(r.summary.executedGtids, moment.gtid);
    assert.match(r.summary.applyCheck, /^gtid_binlog_pos \S+: every replayed transaction and nothing past the target$/);
    await assertAtMoment(target, 'session');
    const password = fs.readFileSync(target.passwordFile, 'utf8').trim();
    assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password), 'the password leaked into the output');
  });

  it('session: bytes past the stop never reach the tool, so a tool that ignores --stop-position still stops there', { timeout: 180_000 }, async () => {
    const target = await freshTarget('strm-nostop', work, servers);
    const tool = path.join(work, 'no-stop');
    fs.writeFileSync(tool, '#!/usr/bin/env bash\nargs=(); for a in "$@"; do case "$a" in --stop-position=*) ;; *) args+=("$a") ;; esac; done; exec mariadb-binlog "${args[@]}"\n', { mode: 0o755 });
    const r = await run(target, ['--apply-mode', 'session'], { BINLOG_TOOL: tool });
    assert.equal(r.code, 0, r.stderr);
    await assertAtMoment(target, 'no --stop-position');
  });

  it('session: a tool that drops the last binlog and exits 0 is caught by the GTID check (EAPPLY)', { timeout: 180_000 }, async () => {
    const target = await freshTarget('strm-skip', work, servers);
    const tool = path.join(work, 'skip-last');
    fs.writeFileSync(tool, '#!/usr/bin/env bash\ncase "$*" in *--stop-position=*) cat > /dev/null; exit 0 ;; esac\nexec mariadb-binlog "$@"\n', { mode: 0o755 });
    const r = await run(target, ['--apply-mode', 'session'], { BINLOG_TOOL: tool });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /"code": "EAPPLY"/);
    assert.match(r.stdout, /short of the last replayed transaction/);
  });

  it('session: a client that fails mid-replay ends the run with its error (EAPPLY), the tools feeding it stopped, not blocked', { timeout: 120_000 }, async () => {
    const target = await freshTarget('strm-clientfail', work, servers);
    // The replay's CREATE DATABASE then fails; made without a binlog entry, so the GTID checks before the apply pass.
    await target.server.sql(`SET sql_log_bin = 0; CREATE DATABASE ${db}`);
    const r = await run(target, ['--apply-mode', 'session']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /"code": "EAPPLY"/);
    assert.match(r.stdout, /database exists/i);
    assert.deepEqual(written(r), []);
  });

  it('auto (the default): the target\'s replication applier where it can apply; a session, nothing applied twice, where the target refuses it', { timeout: 240_000 }, async () => {
    const fit = await freshTarget('strm-auto', work, servers);
    const r = await run(fit, []);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(written(r), []);
    assert.equal(r.summary.applyMode, 'replication', r.summary.applyModeReason);
    assert.equal(r.summary.executedGtids, moment.gtid);
    await assertAtMoment(fit, 'auto: replication');

    const same = await freshTarget('strm-auto-same-id', work, servers);
    await same.server.sql(`SET GLOBAL server_id = ${sourceServerId}`);
    const fell = await run(same, []);
    assert.equal(fell.code, 0, fell.stderr);
    assert.equal(fell.summary.applyMode, 'session');
    assert.match(fell.summary.applyModeReason, /^auto: session, since the replication apply could not start \(nothing was applied\): the target's server_id/);
    assert.deepEqual(written(fell), []);
    await assertAtMoment(same, 'auto: fell back to a session');
    assert.equal((await same.server.sql('SHOW ALL SLAVES STATUS')).trim(), '', 'no replica connection left');
  });

  it('refuses --apply-mode replication with --out, and an unknown mode', async () => {
    const target = { args: ['--apply-host', '127.0.0.1', '--apply-user-file', '/nonexistent', '--apply-password-file', '/nonexistent'] } as ApplyTargetServer;
    const withOut = await run(target, ['--apply-mode', 'replication', '--out', path.join(work, 'x')]);
    assert.equal(withOut.code, 2);
    assert.match(withOut.stdout, /writes no files \(leave out --out\)/);
    const unknown = await run(target, ['--apply-mode', 'fast']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stdout, /--apply-mode \\"fast\\" is not one of auto, session, replication/);
  });
});
