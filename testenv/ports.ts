/** Loopback ports: free ones chosen at start, or fixed by TESTENV_<SERVER>_PORT, checked before use. */
import net from 'node:net';
import { TestenvError } from './errors.ts';

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const address = server.address();
      const chosen = typeof address === 'object' && address !== null ? address.port : port;
      server.close(() => resolve(chosen));
    });
  });
}

/** Returns a port for `server`: the fixed one from the environment if set (failing if taken), else a free one. */
export async function allocatePort(server: string, purpose = ''): Promise<number> {
  const variable = `TESTENV_${server.toUpperCase()}${purpose === '' ? '' : `_${purpose.toUpperCase()}`}_PORT`;
  const fixed = process.env[variable];
  if (fixed !== undefined && fixed !== '') {
    const port = Number(fixed);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TestenvError(server, `${variable}=${fixed} is not a port number (1-65535)`);
    }
    try {
      return await listenOnce(port);
    } catch (err) {
      throw new TestenvError(server, `port ${port} (${variable}) on 127.0.0.1 is in use; free it or unset ${variable}`, {
        cause: err,
      });
    }
  }
  return listenOnce(0);
}
