/** Readiness probes: a server is ready when it answers a real request, not when its port opens. */
import fs from 'node:fs';
import https from 'node:https';

export async function httpStatus(url: string, init: RequestInit = {}): Promise<number> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
  await response.arrayBuffer();
  return response.status;
}

export interface TlsClient {
  ca: string;
  cert: string;
  key: string;
}

/** GET over TLS with a client certificate (fetch cannot present one). */
export function httpsGet(url: string, tls: TlsClient): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, {
      ca: fs.readFileSync(tls.ca),
      cert: fs.readFileSync(tls.cert),
      key: fs.readFileSync(tls.key),
      timeout: 2000,
    }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('timeout', () => request.destroy(new Error(`timeout on ${url}`)));
    request.on('error', reject);
  });
}
