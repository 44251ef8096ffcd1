/**
 * `npm run bench -- --s3`: each round also archives to the test environment's S3 server (multipart upload
 * overlapping compression), next to the file:// archive, and reports its speed against file:// and the CPU the
 * server used on the same cores. Credentials reach the CLI through the SDK's default chain (a shared
 * credentials file), as in production; each round's objects are deleted after it (left behind, gigabytes pile up
 * in the test server's directory and slow it down).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { allKeys, rawClient, storeUrlFor } from '../test/store/helpers.ts';
import { need } from '../test/support/testenv.ts';
import { stateDir } from '../testenv/versions.ts';
import { type Timed, median } from './timed.ts';

/** CPU time (user + system, ms) used so far by a server of the test environment, read from /proc; 0 if unknown. */
function serverCpu(name: string): () => number {
  const state = JSON.parse(fs.readFileSync(path.join(stateDir(), 'state.json'), 'utf8')) as { processes?: { name: string; pid: number }[] };
  const pid = state.processes?.find((p) => p.name === name)?.pid;
  const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return () => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
    } catch {
      return 0;
    }
  };
}

export async function s3Setup(work: string): Promise<{
  round: (run: string, archive: (url: string, env: NodeJS.ProcessEnv) => Timed) => Promise<Timed & { serverMs: number }>;
  line: (m: Timed & { serverMs: number }, fileRun: Timed) => string;
  summary: () => string;
}> {
  const s3 = need('s3');
  const credentials = path.join(work, 'aws-credentials');
  fs.writeFileSync(credentials, `[default]\naws_access_key_id = ${s3.accessKeyId}\naws_secret_access_key = ${s3.secretAccessKey}\n`, { mode: 0o600 });
  const config = path.join(work, 'aws-config');
  fs.writeFileSync(config, `[default]\nregion = ${s3.region}\n`);
  const env = { ...process.env, AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: config, AWS_PROFILE: 'default' };
  const prefix = (run: string): string => `bench-${path.basename(work)}-${run}`;
  const cpu = serverCpu('s3');
  const ratios: number[] = [];
  const rss: number[] = [];
  const serverMs: number[] = [];
  return await Promise.resolve({
    round: async (run, archive) => {
      const cpu0 = cpu();
      const m = archive(storeUrlFor(prefix(run)), env);
      const used = cpu() - cpu0;
      const client = rawClient();
      const keys = await allKeys(client, prefix(run));
      for (let i = 0; i < keys.length; i += 1000) {
        await client.send(new DeleteObjectsCommand({ Bucket: s3.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
      }
      client.destroy();
      serverMs.push(used);
      rss.push(m.maxRssKiB);
      return { ...m, serverMs: used };
    },
    line: (m, fileRun) => {
      ratios.push(fileRun.ms / m.ms);
      return `S3 ${(fileRun.ms / m.ms).toFixed(2)}x file:// (rss ${(m.maxRssKiB / 1024).toFixed(0)} MiB, S3 server ${(m.serverMs / 1000).toFixed(2)} CPU-s)`;
    },
    summary: () => `archive to S3: ${median(ratios).toFixed(2)}x file:// (median of the rounds' ratios; target >= 0.8x: ${median(ratios) >= 0.8 ? 'met' : 'NOT met'}), peak RSS ${(Math.max(...rss) / 1024).toFixed(0)} MiB, S3 server ${(median(serverMs) / 1000).toFixed(2)} CPU-s per archive`,
  });
}
