/**
 * A small Kubernetes REST client on node:https: JSON requests, patches with an explicit content type, and watch
 * streams. The transport is ours so that one keep-alive agent serves every request, every request is counted (the
 * API-requests metric), and watches ask for bookmarks and server timeouts. Credentials come from either
 * - a kubeconfig, read by @kubernetes/client-node's KubeConfig (client certificates, tokens, exec plugins), loaded
 *   only then: its generated API costs about 90 MiB of memory a controller in a cluster does not need; or
 * - a server URL, a bearer token file (re-read, as projected service-account tokens rotate) and a CA file: what
 *   a pod has in-cluster (/var/run/secrets/kubernetes.io/serviceaccount).
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Content type of the body: JSON by default; merge-patch, json-patch or strategic-merge-patch for PATCH. */
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request timeout (default 30 s). */
  timeoutMs?: number;
}

export const PATCH = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

/** A request the API server answered with an error status (or that failed on the way). */
export class KubeApiError extends Error {
  readonly status: number;
  /** metav1.Status reason: NotFound, AlreadyExists, Conflict, Invalid, Forbidden, Gone... ('' when unknown). */
  readonly reason: string;
  readonly verb: string;
  readonly path: string;

  constructor(verb: string, path: string, status: number, reason: string, message: string, cause?: unknown) {
    super(`${verb} ${path}: ${status === 0 ? '' : `${status} ${reason} `}${message}`, cause === undefined ? undefined : { cause });
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.verb = verb;
    this.path = path;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409 && err.reason !== 'AlreadyExists';
}

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409 && err.reason === 'AlreadyExists';
}

export function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 410;
}

/** One finished request, for metrics: the verb as Kubernetes names it (list, watch, get, create, update, patch, delete). */
export interface RequestRecord {
  verb: string;
  resource: string;
  code: string;
  seconds: number;
}

export type RequestObserver = (record: RequestRecord) => void;

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** The resource (plural, with a subresource) of an API path, for metrics: /api/v1/namespaces/x/pods/y/status -> pods/status. */
export function resourceOf(path: string): string {
  const parts = path.split('?')[0]?.split('/').filter((p) => p !== '') ?? [];
  // /api/v1/... or /apis/group/version/...
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  else if (rest[0] === 'namespaces') return 'namespaces';
  const resource = rest[0] ?? 'unknown';
  return rest[2] === undefined ? resource : `${resource}/${rest[2]}`;
}

function verbOf(method: string, path: string, query: RequestOptions['query']): string {
  switch (method) {
    case 'GET': {
      if (query?.watch === true || query?.watch === 'true') return 'watch';
      const rest = path.split('?')[0]?.split('/').filter((p) => p !== '') ?? [];
      // After /api/v1 or /apis/group/version: [namespaces, ns, plural] is a list, [namespaces, ns, plural, name(, sub)] a get.
      const afterVersion = rest[0] === 'api' ? rest.slice(2) : rest.slice(3);
      const named = afterVersion[0] === 'namespaces' ? afterVersion.length >= 4 || afterVersion.length === 2 : afterVersion.length >= 2;
      return named ? 'get' : 'list';
    }
    case 'POST': return 'create';
    case 'PUT': return 'update';
    case 'PATCH': return 'patch';
    case 'DELETE': return 'delete';
    default: return method.toLowerCase();
  }
}

interface Auth {
  headers: Record<string, string>;
  at: number;
}

/** Authorization headers for a request (refreshed by the source as it sees fit). */
type HeaderSource = () => Promise<Record<string, string>>;

export const IN_CLUSTER = {
  tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
  caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
} as const;

export interface TokenOptions {
  server: string;
  tokenFile: string;
  caFile?: string;
}

export interface KubeClientOptions {
  /** Called after every request (watches when they end). */
  onRequest?: RequestObserver;
  /** User agent, e.g. binlog-archiver-controller/0.1.0. */
  userAgent?: string;
}

export class KubeClient {
  readonly server: URL;
  readonly #headerSource: HeaderSource;
  readonly #agent: http.Agent;
  readonly #options: KubeClientOptions;

  private constructor(server: URL, headers: HeaderSource, agent: http.Agent, options: KubeClientOptions) {
    this.server = server;
    this.#headerSource = headers;
    this.#agent = agent;
    this.#options = options;
  }

  /** True when this process runs in a pod with a service-account token (and no kubeconfig is asked for). */
  static inCluster(): boolean {
    return process.env.KUBERNETES_SERVICE_HOST !== undefined && fs.existsSync(IN_CLUSTER.tokenFile);
  }

  /** The pod's own identity: the API server from the environment, the mounted token and CA. */
  static fromInCluster(options: KubeClientOptions = {}): KubeClient {
    const host = process.env.KUBERNETES_SERVICE_HOST ?? '';
    const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
    return KubeClient.fromToken({ server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`, tokenFile: IN_CLUSTER.tokenFile, caFile: IN_CLUSTER.caFile }, options);
  }

  /** A server URL, a bearer token file (re-read every 30 s) and a CA bundle. */
  static fromToken(t: TokenOptions, options: KubeClientOptions = {}): KubeClient {
    const server = new URL(t.server);
    const agent = server.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, ...(t.caFile === undefined ? {} : { ca: fs.readFileSync(t.caFile) }) })
      : new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 });
    let auth: Auth | undefined;
    const headers: HeaderSource = () => {
      if (auth === undefined || Date.now() - auth.at >= 30_000) {
        auth = { headers: { Authorization: `Bearer ${fs.readFileSync(t.tokenFile, 'utf8').trim()}` }, at: Date.now() };
      }
      return Promise.resolve(auth.headers);
    };
    return new KubeClient(server, headers, agent, options);
  }

  /** From a kubeconfig file, or (without one) $KUBECONFIG / ~/.kube/config / in-cluster, as client-node finds it. */
  static async fromKubeconfig(file: string | undefined, options: KubeClientOptions = {}): Promise<KubeClient> {
    const { KubeConfig: Config } = await import('@kubernetes/client-node');
    const kc = new Config();
    if (file === undefined) kc.loadFromDefault();
    else kc.loadFromFile(file);
    return KubeClient.fromKubeConfig(kc, options);
  }

  static async fromKubeConfig(kc: KubeConfig, options: KubeClientOptions = {}): Promise<KubeClient> {
    const tls: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(tls);
    (tls.agent as http.Agent | undefined)?.destroy();
    const cluster = kc.getCurrentCluster();
    const secure = cluster !== null && cluster.server.startsWith('https:');
    const agent = secure
      ? new https.Agent({
        keepAlive: true, maxSockets: 64, maxFreeSockets: 16, ca: tls.ca, cert: tls.cert, key: tls.key, pfx: tls.pfx, passphrase: tls.passphrase,
        ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
        ...(tls.servername === undefined ? {} : { servername: tls.servername }),
      })
      : new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 });
    if (cluster === null) throw new Error('the kubeconfig has no current cluster');
    // Authorization headers, refreshed every 30 s (token files rotate; exec plugins cache on their own).
    let auth: Auth | undefined;
    const headers: HeaderSource = async () => {
      if (auth !== undefined && Date.now() - auth.at < 30_000) return auth.headers;
      const scratch: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(scratch);
      // applyToHTTPSOptions also builds an agent we do not use; let it go.
      (scratch.agent as http.Agent | undefined)?.destroy();
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(scratch.headers ?? {})) if (typeof v === 'string') h[k] = v;
      if (scratch.auth !== undefined && scratch.auth !== null) h.Authorization = `Basic ${Buffer.from(scratch.auth).toString('base64')}`;
      auth = { headers: h, at: Date.now() };
      return h;
    };
    return new KubeClient(new URL(cluster.server), headers, agent, options);
  }

  #headers(): Promise<Record<string, string>> {
    return this.#headerSource();
  }

  #url(path: string, query: RequestOptions['query']): URL {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  #record(method: string, path: string, query: RequestOptions['query'], code: string, started: number): void {
    this.#options.onRequest?.({ verb: verbOf(method, path, query), resource: resourceOf(path), code, seconds: (performance.now() - started) / 1000 });
  }

  async #open(method: string, path: string, options: RequestOptions): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
    const url = this.#url(path, options.query);
    const headers: Record<string, string> = { Accept: 'application/json', ...(await this.#headers()) };
    if (this.#options.userAgent !== undefined) headers['User-Agent'] = this.#options.userAgent;
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method, headers, agent: this.#agent, ...(options.signal === undefined ? {} : { signal: options.signal }) }, (res) => resolve({ res, req }));
      req.on('error', reject);
      if (options.timeoutMs !== undefined) req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
      req.end(payload);
    });
  }

  /** One request; the parsed JSON answer, or a KubeApiError. */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, options: RequestOptions = {}): Promise<T> {
    const started = performance.now();
    let res: http.IncomingMessage;
    try {
      ({ res } = await this.#open(method, path, { timeoutMs: 30_000, ...options }));
    } catch (err) {
      this.#record(method, path, options.query, 'error', started);
      throw new KubeApiError(method, path, 0, '', (err as Error).message, err);
    }
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of res) chunks.push(chunk as Buffer);
    } catch (err) {
      this.#record(method, path, options.query, 'error', started);
      throw new KubeApiError(method, path, 0, '', `reading the answer: ${(err as Error).message}`, err);
    }
    const status = res.statusCode ?? 0;
    this.#record(method, path, options.query, String(status), started);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (status < 200 || status >= 300) {
      const s = (body ?? {}) as { reason?: string; message?: string };
      throw new KubeApiError(method, path, status, s.reason ?? '', s.message ?? text.slice(0, 500));
    }
    return body as T;
  }

  /**
   * A watch stream: calls onEvent for each event until the server ends the stream (resolves), the signal aborts
   * (resolves) or the connection fails (rejects). An ERROR event (e.g. 410 Gone) is passed on as is.
   */
  async watch<T>(path: string, query: RequestOptions['query'], onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const q = { ...query, watch: true };
    let res: http.IncomingMessage;
    try {
      ({ res } = await this.#open('GET', path, { query: q, signal }));
    } catch (err) {
      if (signal.aborted) return;
      this.#record('GET', path, q, 'error', started);
      throw new KubeApiError('WATCH', path, 0, '', (err as Error).message, err);
    }
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      this.#record('GET', path, q, String(status), started);
      let s: { reason?: string; message?: string } = {};
      try {
        s = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof s;
      } catch { /* not JSON */ }
      throw new KubeApiError('WATCH', path, status, s.reason ?? '', s.message ?? '');
    }
    try {
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      for await (const line of lines) {
        if (line.trim() === '') continue;
        onEvent(JSON.parse(line) as WatchEvent<T>);
      }
    } catch (err) {
      if (!signal.aborted) {
        this.#record('GET', path, q, 'error', started);
        throw new KubeApiError('WATCH', path, 0, '', `watch stream broke: ${(err as Error).message}`, err);
      }
    }
    this.#record('GET', path, q, '200', started);
  }

  close(): void {
    this.#agent.destroy();
  }
}
