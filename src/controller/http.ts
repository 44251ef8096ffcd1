/** The controller's HTTP endpoints: /metrics (Prometheus text) on one address, /healthz and /readyz on another. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Routes = Record<string, () => Promise<{ status: number; type?: string; body: string }>>;

/** ":8080" (every interface), "127.0.0.1:0" (a free port), "[::1]:9090". */
export function parseAddress(addr: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (m === null) throw new Error(`${JSON.stringify(addr)} is not [HOST]:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`${addr}: port out of range`);
  const host = m[1] ?? m[2];
  return { host: host === '' || host === undefined ? undefined : host, port };
}

export interface Served {
  address: string;
  close(): Promise<void>;
}

export async function serve(addr: string, routes: Routes): Promise<Served> {
  const { host, port } = parseAddress(addr);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = routes[path];
    if (route === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    route().then((r) => {
      res.writeHead(r.status, { 'Content-Type': r.type ?? 'text/plain; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : r.body);
    }, (err: unknown) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${(err as Error).message}\n`);
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, ...(host === undefined ? {} : { host }) }, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
