/**
 * A fault-injecting HTTP proxy for tests, put in front of the real S3 server or fake-gcs-server: each request is
 * either forwarded untouched (the Host header and body stay as signed) or meets the fault its schedule names: a
 * 503 SlowDown, a 429 or a 500, a reset connection (before or after the server saw the request), a response cut
 * off half-way, a stall (no answer until the client gives up), a request body with one bit flipped, a response
 * whose ETag is altered, or (GCS) a 308 "resume incomplete" that persists nothing of a chunk.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'pass' | 'slowdown' | 'too-many' | 'internal' | 'reset' | 'reset-after-forward' | 'truncate-response' | 'stall' | 'corrupt-body' | 'wrong-etag'
  | 'resume-incomplete';

export interface ProxiedRequest {
  /** 1-based count of requests seen by the proxy. */
  n: number;
  method: string;
  url: string;
  /** The operation the request is (S3 or GCS, by the proxy's classifier), from method, URL and headers. */
  operation: string;
}

export interface FaultRecord extends ProxiedRequest {
  fault: Fault;
  /** The request's x-amz-content-sha256 header (UNSIGNED-PAYLOAD, or the SHA-256 the signature covers). */
  contentSha256: string | undefined;
  /** SHA-256 of the body as the proxy received it, once read. */
  bodySha256?: string;
}

export type Schedule = (request: ProxiedRequest) => Fault;

export function s3Operation(method: string, url: string): string {
  const q = new URL(url, 'http://x').searchParams;
  switch (method) {
    case 'HEAD': return q.size === 0 ? 'HeadObject' : 'HeadBucket';
    case 'GET':
      if (q.has('uploads')) return 'ListMultipartUploads';
      if (q.has('uploadId')) return 'ListParts';
      if (q.has('list-type')) return 'ListObjectsV2';
      return 'GetObject';
    case 'PUT': return q.has('partNumber') ? 'UploadPart' : 'PutObject';
    case 'POST': return q.has('uploads') ? 'CreateMultipartUpload' : q.has('uploadId') ? 'CompleteMultipartUpload' : 'Post';
    case 'DELETE': return q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    default: return method;
  }
}

/** The GCS JSON API operation of a request, named as the GCS store's metrics name them. */
export function gcsOperation(method: string, url: string, headers: http.IncomingHttpHeaders): string {
  const u = new URL(url, 'http://x');
  const q = u.searchParams;
  if (u.pathname.startsWith('/upload/storage/v1/b/')) {
    if (q.has('upload_id')) {
      if (method === 'DELETE') return 'resumable.cancel';
      return String(headers['content-range'] ?? '').startsWith('bytes */') ? 'resumable.status' : 'resumable.chunk';
    }
    return q.get('uploadType') === 'resumable' ? 'resumable.start' : 'objects.insert';
  }
  if (u.pathname.startsWith('/download/') || q.get('alt') === 'media') return 'objects.download';
  if (/^\/storage\/v1\/b\/[^/]+\/o$/.test(u.pathname)) return method === 'GET' ? 'objects.list' : method;
  if (/^\/storage\/v1\/b\/[^/]+\/o\//.test(u.pathname)) return method === 'GET' ? 'objects.get' : method === 'DELETE' ? 'objects.delete' : `objects.${method.toLowerCase()}`;
  return method;
}

/** Faults per operation, consumed in order; requests beyond the list pass. */
export function scripted(plan: Partial<Record<string, Fault[]>>): Schedule {
  const left = new Map(Object.entries(plan).map(([op, faults]) => [op, [...(faults ?? [])]]));
  return ({ operation }) => left.get(operation)?.shift() ?? 'pass';
}

/**
 * The first `passed` requests of `operation` pass, every later one stalls (the rest pass): a run killed once the
 * store holds `passed` of them is killed mid-upload however fast it runs.
 */
export function holdAfter(operation: string, passed: number): Schedule {
  let seen = 0;
  return (request) => (request.operation === operation && ++seen > passed ? 'stall' : 'pass');
}

const SLOWDOWN = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>';
const TOO_MANY = '{"error":{"code":429,"message":"The rate of change requests to the object is too high.","errors":[{"reason":"rateLimitExceeded"}]}}';
const INTERNAL = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>fault-proxy</RequestId></Error>';

export class FaultProxy {
  readonly log: FaultRecord[] = [];
  schedule: Schedule;
  readonly #upstream: URL;
  readonly #server: http.Server;
  readonly #agent = new http.Agent({ keepAlive: true });
  readonly #classify: (method: string, url: string, headers: http.IncomingHttpHeaders) => string;
  #n = 0;

  /** `classify`: how requests are named for schedules (s3Operation by default, gcsOperation for GCS). */
  constructor(upstream: string, schedule: Schedule = () => 'pass', classify: (method: string, url: string, headers: http.IncomingHttpHeaders) => string = s3Operation) {
    this.#upstream = new URL(upstream);
    this.schedule = schedule;
    this.#classify = classify;
    this.#server = http.createServer((req, res) => this.#handle(req, res));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    this.#agent.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Faults injected so far (everything but 'pass'). */
  faults(): FaultRecord[] {
    return this.log.filter((r) => r.fault !== 'pass');
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const request: ProxiedRequest = { n: ++this.#n, method, url, operation: this.#classify(method, url, req.headers) };
    const fault = this.schedule(request);
    const header = req.headers['x-amz-content-sha256'];
    const record: FaultRecord = { ...request, fault, contentSha256: Array.isArray(header) ? header[0] : header };
    this.log.push(record);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      record.bodySha256 = createHash('sha256').update(body).digest('hex');
      switch (fault) {
        case 'slowdown': return void res.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(SLOWDOWN) }).end(SLOWDOWN);
        case 'too-many': return void res.writeHead(429, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(TOO_MANY) }).end(TOO_MANY);
        case 'resume-incomplete': {
          // A 308 that persisted nothing of this chunk: the Range the session held before it (none at offset 0).
          const start = Number(/^bytes (\d+)-/.exec(String(req.headers['content-range'] ?? ''))?.[1] ?? 0);
          return void res.writeHead(308, start > 0 ? { range: `bytes=0-${start - 1}`, 'content-length': 0 } : { 'content-length': 0 }).end();
        }
        case 'internal': return void res.writeHead(500, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(INTERNAL) }).end(INTERNAL);
        case 'reset': return void req.socket.destroy();
        case 'stall': return; // never answers; the client's socket timeout ends it
        case 'corrupt-body':
          if (body.length > 0) body[body.length >> 1] = (body[body.length >> 1] ?? 0) ^ 0x01;
          return this.#forward(req, res, body, fault);
        default: return this.#forward(req, res, body, fault);
      }
    });
  }

  #forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, fault: Fault): void {
    const headers = { ...req.headers };
    delete headers.expect; // the proxy already answered 100-continue; the body is complete
    const upstream = http.request({
      host: this.#upstream.hostname, port: this.#upstream.port, method: req.method, path: req.url, headers, agent: this.#agent,
    }, (up) => {
      if (fault === 'reset-after-forward') {
        up.resume();
        up.on('end', () => req.socket.destroy());
        return;
      }
      const out = { ...up.headers };
      if (fault === 'wrong-etag' && typeof out.etag === 'string') out.etag = '"00000000000000000000000000000000"';
      res.writeHead(up.statusCode ?? 502, out);
      if (fault === 'truncate-response') {
        // Half the body, then the connection drops.
        const half = Math.floor(Number(up.headers['content-length'] ?? 0) / 2);
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          if (sent >= half) return;
          const piece = chunk.subarray(0, half - sent);
          sent += piece.length;
          res.write(piece);
          if (sent >= half) {
            up.destroy();
            setTimeout(() => req.socket.destroy(), 20);
          }
        });
        return;
      }
      up.pipe(res);
    });
    upstream.on('error', () => req.socket.destroy());
    upstream.end(body);
  }
}
