/**
 * fake-gcs-server for the Google Cloud Storage JSON API, built from its Go module (testenv/go/fake-gcs pins
 * it and adds the parts of the resumable-upload protocol it lacks: status queries, offset checks, X-Goog-Hash
 * on the final chunk, cancellation). In memory, loopback only, no authentication: the store sends none to
 * an explicit endpoint. One bucket is created at start.
 */
import path from 'node:path';
import type { Endpoints, UpContext } from '../context.ts';
import { allocatePort } from '../ports.ts';
import { startProcess, waitReady } from '../proc.ts';

export const GCS_TEST_BUCKET = 'binlog-archiver-test';
export const GCS_TEST_PROJECT = 'binlog-archiver-testenv';

export async function startGcs(ctx: UpContext): Promise<Endpoints['gcs']> {
  const port = await allocatePort('gcs');
  const endpoint = `http://127.0.0.1:${port}`;
  const proc = startProcess({
    name: 'gcs',
    command: ctx.tools.fakeGcs ?? '',
    args: ['-host', '127.0.0.1', '-port', String(port), '-bucket', GCS_TEST_BUCKET],
    logFile: path.join(ctx.dir, 'gcs.log'),
  });
  ctx.record(proc);
  await waitReady(proc, async () => {
    const res = await fetch(`${endpoint}/storage/v1/b/${GCS_TEST_BUCKET}`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.ok;
  });
  return { endpoint, bucket: GCS_TEST_BUCKET, projectId: GCS_TEST_PROJECT };
}
