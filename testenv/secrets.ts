/** Random credentials for one `up`; written to files with mode 0600, never printed. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

export function writeSecretFile(file: string, value: string): void {
  fs.writeFileSync(file, value, { mode: 0o600 });
}
