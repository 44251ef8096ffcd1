// test-resources: cpu
/**
 * A `restore --apply-mode replication` killed while the target applies (real MariaDB, a private source so the
 * binlogs hold only this workload):
 * - SIGTERM stops cleanly: the replica is stopped and removed, the command exits non-zero with EINTERRUPTED and
 *   names the GTID position the target executed, which is the target's own and a prefix of the plan (a session
 *   restore to that GTID gives the same tables);
 * - SIGKILL leaves the target with a prefix of the plan too; a rerun onto it is refused (it holds part of a
 *   restore), and a rerun onto a fresh server gives exactly the source's tables and GTID position;
 * - no file appears where the restore runs (its working and temporary directory), polled while it runs.
 * A `restore --out` killed while it writes: SIGTERM removes its staging directory (the half-written plaintext) and
 * exits EINTERRUPTED with only complete, verified binlogs in --out; after SIGKILL the next run removes what the
 * killed one left and restores exactly.
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
import { sha256, tempDir } from '../support/archive.ts';
import { type ApplyTargetServer, freshTarget } from '../support/apply-target.ts';
import { skipUnlessIn } from '../support/testenv.ts';
import { type WatchedRun, startWatched } from '../support/watched-cli.ts';
import { checksums } from '../support/workload.ts';
import { type WorkloadSource, archivedWorkloadSource, domainOf } from '../support/workload-source.ts';

const run = promisify(execFile);
const DOMAIN = 7;

const { ours, seqOf, executed } = domainOf(DOMAIN);


describe('a replication-mode restore killed mid-apply (real MariaDB)', { skip: skipUnlessIn('mysql') }, () => {
  const servers: Launched[] = [];
  let src: WorkloadSource;
  after(async () => {
    for (const s of servers) await stopProcess(s.proc.pid, s.proc.exe);
  });

  before(async () => {
    src = await archivedWorkloadSource({ name: 'kill-source', serverId: 1, domain: DOMAIN, temp: tempDir, servers });
  });

  async function durableTarget(name: string): Promise<ApplyTargetServer> {
    const t = await freshTarget(name, src.work, servers);
    await t.server.sql('SET GLOBAL sync_binlog = 1, innodb_flush_log_at_trx_commit = 1');
    return t;
  }

  const restoreArgs = (more: string[]): string[] => ['restore', '--store', src.storeUrl, '--key', src.key, '--source', src.name, ...more, '--json', '-q'];

  /** Runs the CLI in `dir`; once the target has applied part of the workload, sends `signal`. */
  async function restoreAndKill(t: ApplyTargetServer, dir: string, signal: NodeJS.Signals | null): Promise<WatchedRun> {
    const { child, done } = startWatched(restoreArgs([...(src.base === '' ? [] : ['--from-gtid', src.base]), '--apply-mode', 'replication', ...t.args]), dir, { marker: src.db });
    if (signal !== null) {
      // Mid-apply: the target has committed some of the workload's transactions, not all.
      while (child.exitCode === null && seqOf(await executed(t)) <= seqOf(src.gtid) / 10) await sleep(25);
      assert.equal(child.exitCode, null, 'the restore ended before it could be killed');
      child.kill(signal);
    }
    return done;
  }

  /** The tables a session-mode restore (replay.sh into one client session) gives up to `gtid`, on a fresh server. */
  async function sessionRestoreTo(gtid: string, name: string): Promise<string> {
    const out = path.join(src.work, `session-${name}`);
    const restored = await runRestore({ store: openStore(src.storeUrl), keyUrl: src.key, out, source: src.name, ...(src.base === '' ? {} : { fromGtid: src.base }), target: { kind: 'gtid', text: gtid } });
    const t = await freshTarget(`session-${name}`, src.work, servers);
    if (restored.replayScript !== null) {
      await run(restored.replayScript, [], { env: { ...process.env, MYSQL_CLIENT: `mariadb --no-defaults --socket=${t.server.socket} --user=${os.userInfo().username}` }, maxBuffer: 64 << 20 });
    }
    assert.equal(await executed(t), gtid, 'the session restore reaches the GTID');
    const sums = await checksums((sql) => t.server.sql(sql), src.db);
    await stopProcess(t.server.proc.pid, t.server.proc.exe);
    return sums;
  }

  /**
   * The target's tables are those of the source at the GTID position it shows, which lies in the plan; `stopped`:
   * the restore stopped it before the end (a killed one leaves a replica that applies all it had received).
   */
  async function assertPrefix(t: ApplyTargetServer, name: string, stopped: boolean): Promise<string> {
    const gtid = await executed(t);
    assert.ok(seqOf(gtid) > 0 && seqOf(gtid) <= seqOf(src.gtid) && (!stopped || gtid !== src.gtid), `${name}: killed mid-apply (${gtid} of ${src.gtid})`);
    const expected = gtid === src.gtid ? src.sums : await sessionRestoreTo(gtid, name);
    assert.equal(await checksums((sql) => t.server.sql(sql), src.db), expected, `${name}: the target's tables are the source's at ${gtid}`);
    return gtid;
  }

  it('SIGTERM: stops and removes the replica, reports the GTID position the target holds, exits EINTERRUPTED', { timeout: 600_000 }, async () => {
    const t = await durableTarget('target-term');
    const threadsBefore = (await t.server.sql('SELECT @@slave_parallel_threads')).trim();
    const dir = tempDir('blarc-run-');
    const killed = await restoreAndKill(t, dir, 'SIGTERM');
    assert.equal(killed.signal, null, 'it handles SIGTERM and exits by itself');
    assert.equal(killed.code, 1, killed.stderr);
    const error = (JSON.parse(killed.stdout) as { ok: boolean; error: { code: string; message: string } }).error;
    assert.equal(error.code, 'EINTERRUPTED', error.message);
    assert.match(error.message, /interrupted by SIGTERM while the target applied it: its replica was stopped; it executed up to GTID position (\S+) \(gtid_binlog_pos\)/);
    assert.deepEqual(killed.seen, [], 'the restore wrote files where it ran');
    assert.equal((await t.server.sql('SHOW ALL SLAVES STATUS')).trim(), '', 'the replica connection is removed');
    assert.equal((await t.server.sql('SELECT @@slave_parallel_threads')).trim(), threadsBefore);
    const gtid = await assertPrefix(t, 'term', true);
    assert.equal(ours(/GTID position (\S+) /.exec(error.message)?.[1] ?? ''), gtid, 'what it reports is what the target holds');
    await stopProcess(t.server.proc.pid, t.server.proc.exe);
  });

  it('SIGKILL: the target holds a prefix of the plan, a rerun onto it is refused, a rerun onto a fresh server is exact', { timeout: 600_000 }, async () => {
    const t = await durableTarget('target-kill');
    const killed = await restoreAndKill(t, tempDir('blarc-run-'), 'SIGKILL');
    assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
    assert.deepEqual(killed.seen, [], 'the restore wrote files where it ran');
    // Its replica applies what it had received, then retries the dead source: wait until it stands still.
    let last = '';
    for (let same = 0; same < 10; await sleep(200)) {
      const now = await executed(t);
      same = now === last ? same + 1 : 0;
      last = now;
    }
    await assertPrefix(t, 'kill', false);
    const held = await executed(t);

    const again = await restoreAndKill(t, tempDir('blarc-run-'), null);
    assert.equal(again.code, 1, again.stderr);
    const refused = (JSON.parse(again.stdout) as { error: { code: string; message: string } }).error;
    assert.equal(refused.code, 'ECONFLICT');
    assert.match(refused.message, /binlog_archiver_restore already exists on the target/);
    assert.equal(await executed(t), held, 'the refused rerun applied nothing');
    await stopProcess(t.server.proc.pid, t.server.proc.exe);

    const fresh = await durableTarget('target-rerun');
    const rerun = await restoreAndKill(fresh, tempDir('blarc-run-'), null);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(rerun.seen, []);
    assert.equal(await executed(fresh), src.gtid);
    assert.equal(await checksums((sql) => fresh.server.sql(sql), src.db), src.sums);
    assert.equal(src.sums, await sessionRestoreTo(src.gtid, 'full'), 'a session restore gives the same tables');
    await stopProcess(fresh.server.proc.pid, fresh.server.proc.exe);
  });

  const staged = (out: string): string[] => fs.readdirSync(out).filter((n) => n.startsWith('.blarc-restore-'));
  /** Files in a staging directory; 0 once the run removed it (between the listing and this read). */
  const stagedFiles = (dir: string): number => {
    try {
      return fs.readdirSync(dir).length;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  };

  /**
   * Runs `restore --out out` in `dir`; once a binlog is being written in its staging directory, sends `signal`
   * (once). `sent` is false when the run ended before the watcher saw a staged binlog.
   */
  function restoreFilesAndKill(dir: string, out: string, signal: NodeJS.Signals | null): Promise<WatchedRun & { sent: boolean }> {
    let sent = signal === null; // once: a second SIGTERM ends it without its cleanup, by design
    const { child, done } = startWatched(restoreArgs(['--out', out]), dir, {
      marker: src.db, pollMs: 2,
      onPoll: () => {
        if (!sent && staged(out).some((n) => stagedFiles(path.join(out, n)) > 0)) sent = child.kill(signal ?? undefined);
      },
    });
    return done.then((r) => ({ ...r, sent }));
  }

  /**
   * `signal` while a binlog is being written, into `out`. The restore of this workload takes well under a second,
   * and a test process starved of CPU (other test files run beside it) can miss every moment a binlog sits in the
   * staging directory: a run that ended complete before the signal is tried again into a fresh directory.
   */
  async function killWhileWriting(out: string, signal: NodeJS.Signals): Promise<{ run: WatchedRun; out: string }> {
    for (let attempt = 1; ; attempt++) {
      const run = await restoreFilesAndKill(tempDir('blarc-run-'), out, signal);
      if (run.sent || run.code !== 0 || attempt === 5) {
        assert.ok(run.sent, run.code !== 0 ? `the restore failed before it was signalled (exit ${String(run.code)}): ${run.stderr}` : `the restore ended before it could be signalled, ${attempt} times`);
        return { run, out };
      }
      out = tempDir('blarc-out-');
    }
  }

  it('restore --out: SIGTERM removes the staging directory and leaves only verified binlogs; after SIGKILL the next run cleans up and restores exactly', { timeout: 300_000 }, async () => {
    const { run: termed, out } = await killWhileWriting(tempDir('blarc-out-'), 'SIGTERM');
    assert.equal(termed.signal, null, 'it handles SIGTERM and exits by itself');
    assert.equal(termed.code, 1, termed.stderr);
    assert.equal((JSON.parse(termed.stdout) as { error: { code: string } }).error.code, 'EINTERRUPTED');
    assert.deepEqual(termed.seen, []);
    assert.deepEqual(staged(out), [], 'the staging directory is removed');
    assert.ok(!fs.existsSync(path.join(out, 'replay.sh')), 'an interrupted restore never looks complete');

    // Into the same directory (a fresh one only if the restore outran the watcher there).
    const { run: killed, out: killedOut } = await killWhileWriting(out, 'SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(staged(killedOut).length, 1, 'a killed run leaves its staging directory');
    const rerun = await restoreFilesAndKill(tempDir('blarc-run-'), killedOut, null);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(staged(killedOut), [], 'the next run removed it');
    const summary = JSON.parse(rerun.stdout) as { files: { name: string; sha256: string }[]; replayScript: string };
    assert.ok(summary.files.length >= 3);
    for (const f of summary.files) assert.equal(sha256(path.join(killedOut, f.name)), f.sha256, f.name);
    assert.deepEqual(fs.readdirSync(killedOut).sort(), [...summary.files.map((f) => f.name), 'replay.sh'].sort());
  });
});
