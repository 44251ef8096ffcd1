// test-resources: cpu
/**
 * A session-mode `restore --out DIR --apply-*` (`mariadb-binlog | mariadb`, the default) SIGTERMed while the target
 * applies a multi-binlog series (real MariaDB, a private source so the binlogs hold only this workload, a durable
 * target):
 * - it exits 1 by itself with EINTERRUPTED naming the GTID position the target executed, which is the target's own
 *   (read after the run, and it stands still: the client's session was ended on the server, not just its process)
 *   and a prefix of the plan (a session restore to that GTID on a fresh server gives the same tables);
 * - no replay or client process of the run is left, and no session of the restore account on the target;
 * - no file is left where it ran (working and temporary directory); the one file it writes there, the credentials
 *   option file, lives only until the client connected, and no file there ever holds the binlogs' bytes; --out holds
 *   no staging directory;
 * - the next run is not confused: the same restore onto that target is refused before it applies anything (the
 *   target holds part of the replay), continuing with --from-gtid set to the named position ends exactly at the
 *   source's tables and GTID position, and a rerun with the same --out onto a fresh server restores exactly (the
 *   binlogs already there are verified and reused).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { stopProcess } from '../../testenv/proc.ts';
import { type Launched } from '../../testenv/servers/mariadb.ts';
import { runRestore } from '../../src/restore/restore-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { tempDir } from '../support/archive.ts';
import { type ApplyTargetServer, freshTarget } from '../support/apply-target.ts';
import { skipUnlessIn } from '../support/testenv.ts';
import { type WatchedRun, filesUnder, startWatched } from '../support/watched-cli.ts';
import { checksums } from '../support/workload.ts';
import { type WorkloadSource, archivedWorkloadSource, domainOf } from '../support/workload-source.ts';

const run = promisify(execFile);
const DOMAIN = 8;

const { ours, seqOf, executed } = domainOf(DOMAIN);

/** Pids of processes whose working directory is `dir` (the replay tool and the client run in --out). */
function processesIn(dir: string): number[] {
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readlinkSync(`/proc/${name}/cwd`) === dir) found.push(Number(name));
    } catch { /* gone, or not ours */ }
  }
  return found;
}


describe('a session-mode restore SIGTERMed mid-apply (real MariaDB)', { skip: skipUnlessIn('mysql') }, () => {
  const servers: Launched[] = [];
  let src: WorkloadSource;
  // Each server's directory is ~180 MB (InnoDB files): everything this file made goes when it ends.
  const made: string[] = [];
  const temp = (prefix: string): string => {
    const d = tempDir(prefix);
    made.push(d);
    return d;
  };
  after(async () => {
    for (const s of servers) await stopProcess(s.proc.pid, s.proc.exe);
    for (const d of [...made, ...servers.map((s) => path.dirname(s.binlogDir))]) fs.rmSync(d, { recursive: true, force: true });
  });

  before(async () => {
    src = await archivedWorkloadSource({ name: 'skill-source', serverId: 2, domain: DOMAIN, temp: temp, servers, transactionBeforeBase: true });
  });

  async function durableTarget(name: string): Promise<ApplyTargetServer> {
    const t = await freshTarget(name, src.work, servers);
    await t.server.sql('SET GLOBAL sync_binlog = 1, innodb_flush_log_at_trx_commit = 1');
    return t;
  }

  /** out '': a session apply without files (the verified binlogs streamed through mariadb-binlog's stdin). */
  const restoreArgs = (out: string, t: ApplyTargetServer, from: string): string[] => [
    'restore', '--store', src.storeUrl, '--key', src.key, '--source', src.name, '--from-gtid', from, ...(out === '' ? ['--apply-mode', 'session'] : ['--out', out]), ...t.args, '--json', '-q',
  ];

  /**
   * Runs the CLI in `dir`; once the target has committed a tenth of the workload, SIGTERMs it (once), or with
   * `group` SIGINTs its whole process group, as Ctrl-C in a terminal does (the client and the binlog tool too).
   */
  async function restoreAndTerm(t: ApplyTargetServer, dir: string, out: string, term: boolean, from = src.base, group = false): Promise<WatchedRun & { termAt: number }> {
    const { child, done } = startWatched(restoreArgs(out, t, from), dir, { marker: src.db, pollMs: 2, processGroup: group });
    let termAt = 0;
    if (term) {
      const deadline = Date.now() + 240_000;
      while (child.exitCode === null && (termAt = seqOf(await executed(t))) <= seqOf(src.gtid) / 10) {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          assert.fail(`the target never got a tenth into the apply (at ${termAt} of ${seqOf(src.gtid)})`);
        }
        await sleep(25);
      }
      assert.equal(child.exitCode, null, 'the restore ended before it could be interrupted');
      if (group) process.kill(-child.pid!, 'SIGINT');
      else child.kill('SIGTERM');
    }
    return { ...(await done), termAt };
  }

  /** The tables a session restore (replay.sh into one client) gives up to `gtid`, on a fresh server. */
  async function sessionRestoreTo(gtid: string): Promise<string> {
    const out = path.join(src.work, 'session-to');
    const restored = await runRestore({ store: openStore(src.storeUrl), keyUrl: src.key, out, source: src.name, fromGtid: src.base, target: { kind: 'gtid', text: gtid } });
    const t = await freshTarget('skill-session', src.work, servers);
    await run(restored.replayScript!, [], { env: { ...process.env, MYSQL_CLIENT: `mariadb --no-defaults --socket=${t.server.socket} --user=${os.userInfo().username}` }, maxBuffer: 64 << 20 });
    assert.equal(await executed(t), gtid, 'the session restore reaches the GTID');
    const sums = await checksums((sql) => t.server.sql(sql), src.db);
    await stopProcess(t.server.proc.pid, t.server.proc.exe);
    return sums;
  }

  it('SIGTERM: the client and its session are stopped, the position named is the target\'s, no file is left; the next run is exact', { timeout: 600_000 }, async (ctx) => {
    const t = await durableTarget('skill-target');
    const dir = temp('blarc-skill-run-');
    const out = fs.realpathSync(temp('blarc-skill-out-'));
    const termed = await restoreAndTerm(t, dir, out, true);
    assert.equal(termed.signal, null, 'it handles SIGTERM and exits by itself');
    assert.equal(termed.code, 1, termed.stderr);
    const error = (JSON.parse(termed.stdout) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'EINTERRUPTED', error.message);
    const said = /interrupted by SIGTERM while the target applied it: the client was stopped and its session (\d+) ended on the server; it executed up to GTID position (\S+) \(gtid_binlog_pos\), a prefix of the planned restore/.exec(error.message);
    assert.ok(said !== null, error.message);
    ctx.diagnostic(`${error.message} (SIGTERM sent at ${termed.termAt} of ${seqOf(src.gtid)} transactions; seen in its directory: ${termed.seen.join(', ') || 'nothing'})`);

    assert.deepEqual(processesIn(out), [], 'no replay tool or client of the run is left');
    assert.equal((await t.server.sql(`SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'restorer' OR ID = ${said[1]}`)).trim(), '0', 'its session is gone');
    const held = await executed(t);
    assert.equal(ours(said[2]!), held, 'the position it names is the one the target holds');
    await sleep(1000);
    assert.equal(await executed(t), held, 'and the target stands still: nothing was committed after the report');
    assert.ok(seqOf(held) >= termed.termAt && seqOf(held) < seqOf(src.gtid), `stopped mid-apply (${held} of ${src.gtid})`);
    assert.equal(await checksums((sql) => t.server.sql(sql), src.db), await sessionRestoreTo(held), 'the target\'s tables are the source\'s at that position');

    // Files: none left where it ran; the only one it wrote there is the option file, which never holds binlog bytes.
    assert.deepEqual(filesUnder(dir), [], 'nothing is left in its working and temporary directory');
    const unexpected = termed.seen.filter((f) => !/^blarc-apply-\d+-[^/]+\/client\.cnf$/.test(f));
    assert.deepEqual(unexpected, [], 'only the credentials option file was ever there, and no file held the binlogs\' bytes');
    assert.deepEqual(fs.readdirSync(out).filter((n) => n.startsWith('.')), [], 'no staging directory is left in --out');

    // The same restore onto that target again is refused before applying anything: it holds part of the replay.
    const again = await restoreAndTerm(t, temp('blarc-skill-run-'), out, false);
    assert.equal(again.code, 1, again.stderr);
    const refused = (JSON.parse(again.stdout) as { error: { code: string; message: string } }).error;
    assert.equal(refused.code, 'EAPPLY');
    assert.match(refused.message, new RegExp(`already holds ${held} in domain ${DOMAIN} \\(gtid_binlog_pos\\), past the start point`));
    assert.equal(await executed(t), held, 'the refused run applied nothing');
    // Continuing from the position the interrupted run named gives exactly the source's end state.
    const resumed = await restoreAndTerm(t, temp('blarc-skill-run-'), out, false, said[2]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(await executed(t), src.gtid);
    assert.equal(await checksums((sql) => t.server.sql(sql), src.db), src.sums, 'continued from the named position: the source\'s tables');
    await stopProcess(t.server.proc.pid, t.server.proc.exe);

    // The next run, same --out, onto a fresh server: exact, and it reuses the binlogs the interrupted run wrote.
    const fresh = await durableTarget('skill-rerun');
    const rerun = await restoreAndTerm(fresh, temp('blarc-skill-run-'), out, false);
    assert.equal(rerun.code, 0, rerun.stderr);
    const summary = JSON.parse(rerun.stdout) as { files: { status: string }[]; applyCheck: string };
    assert.ok(summary.files.length >= 4, 'a multi-binlog series');
    assert.ok(summary.files.every((f) => f.status === 'present'), 'the binlogs in --out were verified and reused');
    assert.match(summary.applyCheck, /every replayed transaction and nothing past the target/);
    assert.equal(await executed(fresh), src.gtid);
    assert.equal(await checksums((sql) => fresh.server.sql(sql), src.db), src.sums);
  });
  it('Ctrl-C (SIGINT to the whole process group, the client and the binlog tool included): the same clean stop', { timeout: 300_000 }, async (ctx) => {
    const t = await durableTarget('skill-int');
    const out = fs.realpathSync(temp('blarc-skill-out-'));
    const dir = temp('blarc-skill-run-');
    const r = await restoreAndTerm(t, dir, out, true, src.base, true);
    assert.equal(r.signal, null, 'it handles SIGINT and exits by itself');
    assert.equal(r.code, 1, r.stderr);
    const error = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
    ctx.diagnostic(error.message);
    assert.equal(error.code, 'EINTERRUPTED', error.message);
    const said = /interrupted by SIGINT while the target applied it: the client was stopped and its session \d+ ended on the server; it executed up to GTID position (\S+) \(gtid_binlog_pos\)/.exec(error.message);
    assert.ok(said !== null, error.message);
    assert.deepEqual(processesIn(out), []);
    const held = await executed(t);
    assert.equal(ours(said[1]!), held);
    assert.ok(seqOf(held) < seqOf(src.gtid), `stopped mid-apply (${held} of ${src.gtid})`);
    assert.deepEqual(filesUnder(dir), []);
    await stopProcess(t.server.proc.pid, t.server.proc.exe);
  });

  it('without --out (streamed through mariadb-binlog\'s stdin): the same clean stop, no file but the option file ever there, and the continuation is exact', { timeout: 300_000 }, async (ctx) => {
    const t = await durableTarget('skill-stream');
    const dir = fs.realpathSync(temp('blarc-skill-run-'));
    const r = await restoreAndTerm(t, dir, '', true);
    assert.equal(r.signal, null, 'it handles SIGTERM and exits by itself');
    assert.equal(r.code, 1, r.stderr);
    const error = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
    ctx.diagnostic(`${error.message} (SIGTERM at ${r.termAt} of ${seqOf(src.gtid)})`);
    const said = /interrupted by SIGTERM while the target applied it: the client was stopped and its session \d+ ended on the server; it executed up to GTID position (\S+) \(gtid_binlog_pos\), a prefix of the planned restore/.exec(error.message);
    assert.ok(said !== null, error.message);
    assert.deepEqual(processesIn(dir), [], 'no replay tool or client of the run is left (they run in its temporary directory)');
    const held = await executed(t);
    assert.equal(ours(said[1]!), held);
    await sleep(1000);
    assert.equal(await executed(t), held, 'the target stands still');
    assert.ok(seqOf(held) >= r.termAt && seqOf(held) < seqOf(src.gtid), `stopped mid-apply (${held} of ${src.gtid})`);
    assert.deepEqual(filesUnder(dir), []);
    assert.deepEqual(r.seen.filter((f) => !/^blarc-apply-\d+-[^/]+\/client\.cnf$/.test(f)), [], 'no file ever held the binlogs\' bytes');
    const resumed = await restoreAndTerm(t, temp('blarc-skill-run-'), '', false, said[1]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(await executed(t), src.gtid);
    assert.equal(await checksums((sql) => t.server.sql(sql), src.db), src.sums, 'continued from the named position: the source\'s tables');
    await stopProcess(t.server.proc.pid, t.server.proc.exe);
  });
});
