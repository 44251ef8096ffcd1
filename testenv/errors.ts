/** A test-environment failure that names the server and the log file a person should read. */
export class TestenvError extends Error {
  readonly server: string;
  readonly logFile: string | undefined;

  constructor(server: string, message: string, options: { logFile?: string; cause?: unknown } = {}) {
    const where = options.logFile === undefined ? '' : `; read ${options.logFile}`;
    super(`${server}: ${message}${where}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TestenvError';
    this.server = server;
    this.logFile = options.logFile;
  }
}
