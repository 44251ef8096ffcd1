/** What the CLI prints: one JSON document on stdout with --json, human lines otherwise; errors on stderr. */
import { ArchiverError } from '../errors.ts';
import { redact } from '../redact.ts';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTty: boolean;
}

export const processIo: Io = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  isTty: process.stderr.isTTY,
};

/** An error as shown to people and programs (stderr, --json, the run report): secrets masked. */
export function errorJson(err: unknown): { code: string; message: string; hint?: string } {
  if (err instanceof ArchiverError) return { code: err.code, message: redact(err.message), ...(err.hint === undefined ? {} : { hint: redact(err.hint) }) };
  return { code: 'EINTERNAL', message: redact(err instanceof Error ? err.message : String(err)) };
}

/** Everything the commands write goes through the mask, whatever produced it (summaries, logs, progress). */
export function redactingIo(io: Io): Io {
  return { stdout: (t) => io.stdout(redact(t)), stderr: (t) => io.stderr(redact(t)), isTty: io.isTty };
}

export function printError(io: Io, err: unknown): void {
  const e = errorJson(err);
  io.stderr(`binlog-archiver: error ${e.code}: ${e.message}\n`);
  if (e.hint !== undefined) io.stderr(`  ${e.hint}\n`);
  if (e.code === 'EINTERNAL' && err instanceof Error && err.stack !== undefined) io.stderr(`${redact(err.stack)}\n`);
}

/** A single self-overwriting progress line, only when stderr is a terminal. */
export function progressLine(io: Io): { update(text: string): void; done(): void } {
  let last = 0;
  let shown = false;
  return {
    update(text) {
      if (!io.isTty) return;
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      shown = true;
      io.stderr(`\r\x1b[K${text}`);
    },
    done() {
      if (shown) io.stderr('\r\x1b[K');
    },
  };
}

export function mib(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1048576) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}
