/**
 * `node connect-proxy.ts SOCKET`, run inside the environment's network namespace: an HTTP CONNECT proxy on a UNIX
 * socket, which the API server's egress selector uses for everything it opens towards the cluster (the kubelet's
 * logs and exec, Service proxies, webhooks). The API server stays on 127.0.0.1 and never routes to the node IP
 * through the host; the namespace has no route out, so nothing reached this way can leave the machine.
 */
import fs from 'node:fs';
import net from 'node:net';

const socketPath = process.argv[2];
if (socketPath === undefined) {
  process.stderr.write('usage: connect-proxy.ts SOCKET\n');
  process.exit(2);
}

function handle(client: net.Socket): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > 8192) client.destroy();
      return;
    }
    client.off('data', onData);
    const match = /^CONNECT ([^\s:]+|\[[^\]]+\]):(\d+) HTTP\/1\.[01]\r\n/.exec(head.subarray(0, end + 2).toString('latin1'));
    if (match === null) {
      client.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n');
      return;
    }
    const upstream = net.connect({ host: (match[1] ?? '').replace(/^\[|\]$/g, ''), port: Number(match[2]) });
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      const rest = head.subarray(end + 4);
      if (rest.length > 0) upstream.write(rest);
      client.pipe(upstream).pipe(client);
    });
    upstream.once('error', (err) => {
      if (client.writable && !upstream.readable) client.end(`HTTP/1.1 502 Bad Gateway\r\n\r\n${err.message}`);
      else client.destroy();
    });
    client.once('error', () => upstream.destroy());
  };
  client.on('data', onData);
}

fs.rmSync(socketPath, { force: true });
const server = net.createServer(handle);
server.listen(socketPath, () => fs.chmodSync(socketPath, 0o600));
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => server.close(() => process.exit(0)));
