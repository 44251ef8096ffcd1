/**
 * The Cloud KMS stand-in (gcpkms-server.ts, our own: no emulator of Cloud KMS is published) as a testenv
 * server: a key ring with key `archive` (version 1, primary) and key `disabled`, whose only version is
 * disabled at start, so refusals of a disabled version are tested against the server.
 */
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { grpc } from 'google-gax';
import path from 'node:path';
import type { Endpoints, UpContext } from '../context.ts';
import { allocatePort } from '../ports.ts';
import { startProcess, waitReady } from '../proc.ts';

export const GCPKMS_KEY_RING = 'projects/binlog-archiver-testenv/locations/global/keyRings/testenv';

export async function startGcpKms(ctx: UpContext): Promise<Endpoints['gcpkms']> {
  // The client must not probe for a GCE metadata server: nothing but loopback is reached from here.
  process.env.METADATA_SERVER_DETECTION = 'none';
  const port = await allocatePort('gcpkms');
  const keyName = `${GCPKMS_KEY_RING}/cryptoKeys/archive`;
  const disabledKeyName = `${GCPKMS_KEY_RING}/cryptoKeys/disabled`;
  const proc = startProcess({
    name: 'gcpkms',
    command: process.execPath,
    args: [path.join(import.meta.dirname, 'gcpkms-server.ts'), '--port', String(port), '--key-ring', GCPKMS_KEY_RING, '--keys', 'archive,disabled'],
    logFile: path.join(ctx.dir, 'gcpkms.log'),
  });
  ctx.record(proc);
  const client = new KeyManagementServiceClient({ apiEndpoint: '127.0.0.1', port, sslCreds: grpc.credentials.createInsecure() });
  try {
    await waitReady(proc, async () => {
      await client.getCryptoKey({ name: keyName }, { timeout: 2000 });
      return true;
    });
    await client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: `${disabledKeyName}/cryptoKeyVersions/1`, state: 'DISABLED' }, updateMask: { paths: ['state'] } });
  } finally {
    await client.close();
  }
  return { endpoint: `http://127.0.0.1:${port}`, keyName, disabledKeyName };
}
