/** VersityGW with its posix backend (versioning directory on, so object lock is available). */
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import type { Endpoints, UpContext } from '../context.ts';
import { allocatePort } from '../ports.ts';
import { startProcess, waitReady } from '../proc.ts';
import { randomToken } from '../secrets.ts';

export const TEST_BUCKET = 'binlog-archiver-test';

export async function startS3(ctx: UpContext): Promise<Endpoints['s3']> {
  const dir = path.join(ctx.dir, 's3');
  fs.rmSync(dir, { recursive: true, force: true });
  for (const sub of ['data', 'versions']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const port = await allocatePort('s3');
  const endpoint: Endpoints['s3'] = {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId: `testenv${randomToken(6)}`,
    secretAccessKey: randomToken(24),
    forcePathStyle: true,
    bucket: TEST_BUCKET,
  };
  const proc = startProcess({
    name: 's3',
    command: ctx.tools.versitygw ?? '',
    args: ['--port', `127.0.0.1:${port}`, '--region', endpoint.region, '--quiet',
      'posix', '--versioning-dir', path.join(dir, 'versions'), path.join(dir, 'data')],
    // Credentials go by environment, not argv, so `ps` does not show them.
    env: { ...process.env, ROOT_ACCESS_KEY_ID: endpoint.accessKeyId, ROOT_SECRET_ACCESS_KEY: endpoint.secretAccessKey },
    logFile: path.join(ctx.dir, 's3.log'),
  });
  ctx.record(proc);
  const client = new S3Client({
    endpoint: endpoint.endpoint,
    region: endpoint.region,
    forcePathStyle: true,
    credentials: { accessKeyId: endpoint.accessKeyId, secretAccessKey: endpoint.secretAccessKey },
  });
  try {
    await waitReady(proc, async () => {
      await client.send(new ListBucketsCommand({}));
      return true;
    });
    await client.send(new CreateBucketCommand({ Bucket: TEST_BUCKET }));
  } finally {
    client.destroy();
  }
  return endpoint;
}
