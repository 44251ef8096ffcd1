/** Runs the real `binlog-archiver` command line in a child process and collects its exit code and output. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../testenv/versions.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const BIN = path.join(REPO_ROOT, 'bin', 'binlog-archiver.js');

export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}
