/**
 * `binlog-archiver COMMAND ...`: dispatch, and the exit-code contract (0 ok, 1 failure, 2 usage).
 * A command's module is loaded only when that command runs: --help loads none, and `archive` never loads the
 * restore path (mysql2), the controller (Kubernetes client, metrics), or a cloud SDK its URLs do not name
 * (start-up time, docs/PERFORMANCE.md; test/cli/lazy-commands.test.ts).
 */
import { ArchiverError } from '../errors.ts';
import fs from 'node:fs';
import { PARITY_USAGE, USAGE } from './usage.ts';
import { LIFECYCLE_USAGE } from './lifecycle-usage.ts';
import { CONTROLLER_USAGE } from '../controller/options.ts';
import { AGENT_USAGE } from '../agent/defaults.ts';
import { type Io, errorJson, printError, processIo, redactingIo } from './output.ts';
import { registerArgvSecrets } from '../redact.ts';
import type { StoreRequestStats } from '../store/object-store.ts';

const COMMANDS: Record<string, (argv: string[], io: Io) => Promise<number>> = {
  inspect: async (argv, io) => (await import('./commands.ts')).inspectCommand(argv, io),
  archive: async (argv, io) => {
    // Before the command's modules load (their loading grew it to 4 MiB semi-spaces): docs/PERFORMANCE.md 4e.
    (await import('../pipeline/young-generation.ts')).capYoungGeneration();
    return (await import('./commands.ts')).archiveCommand(argv, io);
  },
  restore: async (argv, io) => (await import('./restore-command.ts')).restoreCommand(argv, io),
  verify: async (argv, io) => (await import('./commands.ts')).verifyCommand(argv, io),
  parity: async (argv, io) => (await import('./parity-command.ts')).parityCommand(argv, io),
  controller: async (argv, io) => (await import('./controller-command.ts')).controllerCommand(argv, io),
  agent: async (argv, io) => (await import('./agent-command.ts')).agentCommand(argv, io),
  expire: async (argv, io) => (await import('./lifecycle-command.ts')).expireCommand(argv, io),
  'backup-anchor': async (argv, io) => (await import('./lifecycle-command.ts')).backupAnchorCommand(argv, io),
};

const USAGES: Record<string, string> = { ...USAGE, ...LIFECYCLE_USAGE, parity: PARITY_USAGE, controller: CONTROLLER_USAGE, agent: AGENT_USAGE };

/** `archive`, `restore` and `verify --summary-file F` write their report on failure too, so the operator learns why the Job failed. */
async function writeFailureReport(command: string, argv: string[], err: unknown): Promise<void> {
  if (command !== 'archive' && command !== 'restore' && command !== 'verify') return;
  const i = argv.findIndex((a) => a === '--summary-file' || a.startsWith('--summary-file='));
  const arg = argv[i];
  const file = arg === undefined ? undefined : arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[i + 1];
  if (file === undefined || file === '') return;
  try {
    if (command === 'verify') {
      const { code, message } = errorJson(err);
      fs.writeFileSync(file, (await import('../restore/verify-report.ts')).encodeVerifyFailure({ code, message }, new Date()));
      return;
    }
    if (command === 'restore') {
      fs.writeFileSync(file, (await import('./restore-command.ts')).restoreFailureReport(err, argv));
      return;
    }
    const { encodeReport, reportFromError } = await import('../controller/run-report.ts');
    const stats = err instanceof ArchiverError ? (err.context.storeRequests as StoreRequestStats | undefined) : undefined;
    fs.writeFileSync(file, encodeReport(reportFromError(errorJson(err), null, stats)));
  } catch {
    // The report is a courtesy; the exit status and stderr still tell.
  }
}

function help(): string {
  return `binlog-archiver: archive MySQL/MariaDB binary logs encrypted and verified, and restore any point in time\n\n${Object.values(USAGES).map((u) => `  ${u}`).join('\n')}\n`;
}

export async function main(argv: string[], given: Io = processIo): Promise<number> {
  // Before anything can fail: an inline key given by mistake (`--key <hex>`) must not be echoed by any message.
  registerArgvSecrets(argv);
  const io = redactingIo(given);
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(help());
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  const json = rest.includes('--json');
  try {
    if (run === undefined) throw new ArchiverError('EUSAGE', `unknown command ${JSON.stringify(command)}`, { hint: help() });
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout(`usage: ${USAGES[command] ?? ''}\n`);
      return 0;
    }
    return await run(rest, io);
  } catch (err) {
    printError(io, err);
    await writeFailureReport(command, rest, err);
    if (json) io.stdout(`${JSON.stringify({ ok: false, error: errorJson(err) }, null, 2)}\n`);
    return err instanceof ArchiverError && err.code === 'EUSAGE' ? 2 : 1;
  }
}
