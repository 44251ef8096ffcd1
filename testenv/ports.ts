/** Loopback ports: free ones chosen at start, or fixed by TESTENV_<SERVER>_PORT, checked before use. */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { TestenvError } from './errors.ts';

/**
 * The kernel hands ports of ip_local_port_range to every outgoing connection: a port picked there and released
 * can be taken by a client socket before the server binds it ("Address already in use" on a busy machine). Free
 * ports are therefore picked below that range.
 */
function ephemeralStart(): number {
  try {
    const [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return low !== undefined && Number.isInteger(low) && low > 12000 ? low : 32768;
  } catch {
    return 32768;
  }
}

async function freePort(): Promise<number> {
  const high = ephemeralStart();
  for (let i = 0; i < 64; i++) {
    try {
      return await listenOnce(randomInt(10000, high));
    } catch {
      // taken: try another
    }
  }
  return freePort();
}

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
  return freePort();
}
