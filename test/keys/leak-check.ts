/** Asserts a data key appears nowhere in files or log text: raw, hex or base64. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { listFiles } from '../support/archive.ts';

export function assertKeyNotIn(dek: Buffer, where: { dirs?: string[]; text?: string }): void {
  const forms = [dek, Buffer.from(dek.toString('hex')), Buffer.from(dek.toString('base64')), Buffer.from(dek.toString('base64url'))];
  for (const dir of where.dirs ?? []) {
    for (const file of listFiles(dir)) {
      const bytes = fs.readFileSync(path.join(dir, file));
      for (const form of forms) assert.equal(bytes.indexOf(form), -1, `the data key is in ${path.join(dir, file)}`);
    }
  }
  if (where.text !== undefined) {
    const text = Buffer.from(where.text);
    for (const form of forms) assert.equal(text.indexOf(form), -1, 'the data key is in the log');
  }
}
