/** moto in server mode for the AWS KMS API; a symmetric key and an alias are created at every start. */
import { CreateAliasCommand, CreateKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import path from 'node:path';
import type { Endpoints, UpContext } from '../context.ts';
import { TestenvError } from '../errors.ts';
import { allocatePort } from '../ports.ts';
import { startProcess, waitReady } from '../proc.ts';
import { randomToken } from '../secrets.ts';

export const KEY_ALIAS = 'alias/binlog-archiver-testenv';

export async function startKms(ctx: UpContext): Promise<Endpoints['kms']> {
  const port = await allocatePort('kms');
  const proc = startProcess({
    name: 'kms',
    command: ctx.tools.motoServer ?? '',
    args: ['-H', '127.0.0.1', '-p', String(port)],
    logFile: path.join(ctx.dir, 'kms.log'),
  });
  ctx.record(proc);
  const base = { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', accessKeyId: `testenv${randomToken(6)}`, secretAccessKey: randomToken(24) };
  const client = new KMSClient({ endpoint: base.endpoint, region: base.region, credentials: { accessKeyId: base.accessKeyId, secretAccessKey: base.secretAccessKey } });
  try {
    await waitReady(proc, async () => {
      await client.send(new ListKeysCommand({}));
      return true;
    });
    const created = await client.send(new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Description: 'binlog-archiver test environment' }));
    const keyId = created.KeyMetadata?.KeyId;
    if (keyId === undefined) throw new TestenvError('kms', 'CreateKey returned no key id', { logFile: proc.logFile });
    await client.send(new CreateAliasCommand({ AliasName: KEY_ALIAS, TargetKeyId: keyId }));
    return { ...base, keyId, keyAlias: KEY_ALIAS };
  } finally {
    client.destroy();
  }
}
