/** Runs SQL on the test environment's MariaDB over TCP as the test user, with the password in a 0600 option file. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Endpoints } from '../../testenv/context.ts';

const run = promisify(execFile);

export interface MysqlClient {
  /** Tab-separated rows, no column names. */
  query(sql: string): Promise<string>;
  optionFile: string;
}

export function mysqlClient(mysql: Endpoints['mysql']): MysqlClient {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blarc-mysql-'));
  const optionFile = path.join(dir, 'client.cnf');
  const password = fs.readFileSync(mysql.passwordFile, 'utf8').trim();
  fs.writeFileSync(optionFile, `[client]\nhost=${mysql.host}\nport=${mysql.port}\nuser=${mysql.user}\npassword=${password}\nprotocol=TCP\n`, { mode: 0o600 });
  // The password does not outlive the test file's process.
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return {
    optionFile,
    async query(sql: string): Promise<string> {
      const { stdout } = await run('mariadb', [`--defaults-extra-file=${optionFile}`, '--batch', '--skip-column-names', '-e', sql], { maxBuffer: 256 * 1024 * 1024 });
      return stdout;
    },
  };
}
