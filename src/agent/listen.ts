/** `--listen [HOST]:PORT` as Go programs write it: `:9471` is every interface, `127.0.0.1:9471`, `[::1]:9471`. */
import { ArchiverError } from '../errors.ts';

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new ArchiverError('EUSAGE', `--listen ${JSON.stringify(text)} is not [HOST]:PORT`, { hint: 'e.g. --listen :9471 (every interface) or --listen 127.0.0.1:9471' });
  }
  return { host: m[1] ?? m[2] ?? '', port };
}
