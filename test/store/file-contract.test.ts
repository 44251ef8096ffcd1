/** The ObjectStore contract on the file store. */
import fs from 'node:fs';
import path from 'node:path';
import { FileStore } from '../../src/store/file-store.ts';
import { tempDir } from '../support/archive.ts';
import { MiB } from './helpers.ts';
import { storeContract } from './contract.ts';

storeContract('file://', () => {
  const root = tempDir('blarc-store-');
  const staging = path.join(root, '.staging');
  return Promise.resolve({
    store: new FileStore({ root }),
    largeSize: 12 * MiB,
    leftovers: () => Promise.resolve(fs.existsSync(staging) ? fs.readdirSync(staging) : []),
    close: () => Promise.resolve(fs.rmSync(root, { recursive: true, force: true })),
  });
});
