/**
 * A replication source for one restore: a TCP listener the target server's replica I/O thread connects to. It
 * authenticates the replica with a user and password made for this run (mysql_native_password for MariaDB,
 * caching_sha2_password's fast path for MySQL), answers the replica's setup queries (replication-queries.ts), accepts
 * COM_REGISTER_SLAVE, and serves exactly one COM_BINLOG_DUMP, at the file and position the restore planned:
 * `serve` streams the events through a DumpFramer, then heartbeats keep the idle connection alive until the
 * restore closes it. Anything else (a second dump, another position, GTID dump) is refused with an error packet,
 * so a replica can never read from anywhere but the planned start.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { ArchiverError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { DumpFramer, USE_HEARTBEAT_EVENT_V2 } from './replication-events.ts';
import {
  type AuthPlugin, NATIVE_PASSWORD, PacketReader, SHA2_PASSWORD, authSwitchPacket, errPacket, fastAuthSuccessPacket, frame, handshakePacket, okPacket, parseHandshakeResponse,
  passwordMatches,
} from './replication-packets.ts';
import { ReplicaQueries } from './replication-queries.ts';

export interface DumpRequest {
  file: string;
  position: number;
  flags: number;
  replicaServerId: number;
}

export interface SourceOptions {
  /** The replica's flavour: what the source announces, how it authenticates, what it answers. */
  flavor: 'mariadb' | 'mysql';
  /** Address to listen on (the target must reach it). */
  host: string;
  /** MySQL: the binlogs' server version (the source announces it) and what @@GTID_MODE answers. */
  serverVersion?: string;
  gtidMode?: string;
  /** Server id of the archived binlogs' server: the replica refuses a source with its own id. */
  serverId: number;
  checksum: boolean;
  user: string;
  password: string;
  /** The only dump request served: anything else is refused. */
  expect: { file: string; position: number };
  /** Streams the planned events; resolves when all are sent. */
  serve: (framer: DumpFramer, request: DumpRequest) => Promise<void>;
  logger: Logger;
}

const COM = { QUIT: 0x01, QUERY: 0x03, PING: 0x0e, BINLOG_DUMP: 0x12, REGISTER_SLAVE: 0x15 } as const;
const ER = { ACCESS_DENIED: 1045, UNKNOWN_COM: 1047, MASTER_FATAL_READING_BINLOG: 1236 } as const;
const MARIADB_VERSION = '5.5.5-10.11.0-MariaDB-binlog-archiver';

/** What a source of this flavour announces and answers. */
function persona(o: SourceOptions): { version: string; plugin: AuthPlugin; variables: Record<string, string> } {
  const common = { server_id: String(o.serverId), binlog_checksum: o.checksum ? 'CRC32' : 'NONE' };
  if (o.flavor === 'mariadb') return { version: MARIADB_VERSION, plugin: NATIVE_PASSWORD, variables: { ...common, gtid_domain_id: '0', version: MARIADB_VERSION } };
  // A MySQL replica reads the source's major version from this string; the binlogs' own server wrote them.
  const version = `${/^\d+\.\d+\.\d+/.exec(o.serverVersion ?? '')?.[0] ?? '8.0.40'}-binlog-archiver`;
  return {
    version, plugin: SHA2_PASSWORD,
    variables: { ...common, version, server_uuid: randomUUID(), gtid_mode: o.gtidMode ?? 'ON', collation_server: 'utf8mb4_0900_ai_ci', time_zone: 'SYSTEM' },
  };
}

export class ReplicationSource {
  readonly #options: SourceOptions;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #dumped = false;
  #settle!: { resolve: () => void; reject: (err: unknown) => void };
  /** Resolves when the dump has sent every planned event; rejects when serving it failed. */
  readonly streamed: Promise<void>;
  #connectionId = 1;
  readonly #persona: ReturnType<typeof persona>;

  constructor(options: SourceOptions) {
    this.#options = options;
    this.#persona = persona(options);
    this.streamed = new Promise<void>((resolve, reject) => { this.#settle = { resolve, reject }; });
    this.streamed.catch(() => undefined);
    this.#server = net.createServer((socket) => { this.#accept(socket); });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, this.#options.host, () => { this.#server.off('error', reject); resolve(); });
    });
    return (this.#server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    const scramble = randomBytes(20);
    for (let i = 0; i < 20; i++) scramble[i] = 1 + (scramble[i]! % 127); // no NUL inside the scramble
    const reader = new PacketReader();
    let phase: 'handshake' | 'switch' | 'command' | 'dump' = 'handshake';
    const send = (payload: Buffer, seq: number): number => {
      const f = frame(payload, seq);
      socket.write(f.bytes);
      return f.seq;
    };
    const { plugin } = this.#persona;
    const queries = new ReplicaQueries(this.#persona.variables);
    socket.write(frame(handshakePacket(this.#persona.version, this.#connectionId++, scramble, plugin), 0).bytes);
    let user = '';
    socket.on('data', (data: Buffer) => {
      try {
        for (const { seq, payload } of reader.push(data)) {
          if (phase === 'dump') continue;
          if (phase === 'handshake') {
            const hr = parseHandshakeResponse(payload);
            user = hr.user;
            if (hr.plugin !== null && hr.plugin !== plugin) {
              phase = 'switch';
              send(authSwitchPacket(scramble, plugin), seq + 1);
              continue;
            }
            const ok = this.#authenticate(user, scramble, hr.authResponse, seq + 1, send);
            if (!ok) socket.end();
            phase = ok ? 'command' : 'dump'; // a refused client is ignored until it goes
            continue;
          }
          if (phase === 'switch') {
            const ok = this.#authenticate(user, scramble, payload, seq + 1, send);
            if (!ok) socket.end();
            phase = ok ? 'command' : 'dump'; // a refused client is ignored until it goes
            continue;
          }
          phase = this.#command(socket, payload, send, queries) ?? phase;
        }
      } catch (err) {
        this.#options.logger.log('warn', 'Replication client protocol error', { error: (err as Error).message });
        socket.destroy();
      }
    });
  }

  #authenticate(user: string, scramble: Buffer, response: Buffer, seq: number, send: (p: Buffer, seq: number) => number): boolean {
    const { plugin } = this.#persona;
    const ok = user === this.#options.user && passwordMatches(plugin, this.#options.password, scramble, response);
    if (ok) {
      // caching_sha2_password: "fast authentication succeeded", then the OK.
      const next = plugin === SHA2_PASSWORD ? send(fastAuthSuccessPacket(), seq) : seq;
      send(okPacket(), next);
    } else {
      send(errPacket(ER.ACCESS_DENIED, '28000', `Access denied for user '${user}'`), seq);
      this.#options.logger.log('warn', 'Refused a replication client: wrong user or password', { user: user.slice(0, 64) });
    }
    return ok;
  }

  /** One command; returns the next phase when it changes. */
  #command(socket: net.Socket, payload: Buffer, send: (p: Buffer, seq: number) => number, queries: ReplicaQueries): 'dump' | undefined {
    const command = payload[0];
    if (command === COM.QUIT) {
      socket.end();
      return undefined;
    }
    if (command === COM.PING || command === COM.REGISTER_SLAVE) {
      send(okPacket(), 1);
      return undefined;
    }
    if (command === COM.QUERY) {
      const sql = payload.toString('utf8', 1);
      const answer = queries.answer(sql);
      if (!answer.known) this.#options.logger.log('debug', 'Unanswered replica query', { sql: sql.slice(0, 200) });
      let seq = 1;
      for (const p of answer.reply) seq = send(p, seq);
      return undefined;
    }
    if (command === COM.BINLOG_DUMP && payload.length >= 11) {
      const request: DumpRequest = { position: payload.readUInt32LE(1), flags: payload.readUInt16LE(5), replicaServerId: payload.readUInt32LE(7), file: payload.toString('utf8', 11) };
      const { expect } = this.#options;
      if (this.#dumped || request.file !== expect.file || request.position !== expect.position) {
        this.#options.logger.log('warn', 'Refused a binlog dump request', { file: request.file, position: request.position });
        send(errPacket(ER.MASTER_FATAL_READING_BINLOG, 'HY000', `binlog-archiver serves one dump, from ${expect.file}:${expect.position}`), 1);
        return undefined;
      }
      this.#dumped = true;
      void this.#dump(socket, request, queries.heartbeatMs);
      return 'dump';
    }
    send(errPacket(ER.UNKNOWN_COM, '08S01', `command ${command ?? '?'} is not supported by binlog-archiver`), 1);
    return undefined;
  }

  async #dump(socket: net.Socket, request: DumpRequest, heartbeatMs: number): Promise<void> {
    const framer = new DumpFramer(socket, this.#options.serverId, this.#options.checksum, 1,
      this.#options.flavor === 'mysql' && (request.flags & USE_HEARTBEAT_EVENT_V2) !== 0);
    try {
      await this.#options.serve(framer, request);
      await framer.flush();
      this.#settle.resolve();
    } catch (err) {
      // Never leave the replica a partial event: the connection goes, so its relay log ends at the last whole one.
      socket.destroy();
      this.#settle.reject(err);
      return;
    }
    const timer = setInterval(() => { framer.heartbeat().catch(() => socket.destroy()); }, heartbeatMs);
    timer.unref();
    socket.on('close', () => clearInterval(timer));
  }
}

export function replicationCredentials(): { user: string; password: string } {
  // A fresh password per run: the target stores it in its replica configuration until RESET SLAVE ALL.
  return { user: 'blarc_restore', password: randomBytes(18).toString('base64url') };
}

export function sourceError(message: string, hint?: string): ArchiverError {
  return new ArchiverError('EBADINPUT', message, hint === undefined ? {} : { hint });
}
