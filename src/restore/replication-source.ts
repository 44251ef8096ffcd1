/**
 * A replication source for one restore: a TCP listener the target server's replica I/O thread connects to. It
 * authenticates the replica with a user and password made for this run (mysql_native_password), answers the
 * replica's setup queries (server id, clock, checksum, heartbeat period, capability), accepts
 * COM_REGISTER_SLAVE, and serves exactly one COM_BINLOG_DUMP, at the file and position the restore planned:
 * `serve` streams the events through a DumpFramer, then heartbeats keep the idle connection alive until the
 * restore closes it. Anything else (a second dump, another position, GTID dump) is refused with an error packet,
 * so a replica can never read from anywhere but the planned start.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { ArchiverError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { DumpFramer } from './replication-events.ts';
import {
  NATIVE_PASSWORD, PacketReader, authSwitchPacket, errPacket, frame, handshakePacket, nativePasswordMatches, okPacket, parseHandshakeResponse, resultSet,
} from './replication-packets.ts';

export interface DumpRequest {
  file: string;
  position: number;
  flags: number;
  replicaServerId: number;
}

export interface SourceOptions {
  /** Address to listen on (the target must reach it). */
  host: string;
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
const ER = { ACCESS_DENIED: 1045, UNKNOWN_COM: 1047, UNKNOWN_VARIABLE: 1193, MASTER_FATAL_READING_BINLOG: 1236 } as const;
const VERSION = '5.5.5-10.11.0-MariaDB-binlog-archiver';

export class ReplicationSource {
  readonly #options: SourceOptions;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #dumped = false;
  #heartbeatMs = 5000;
  #settle!: { resolve: () => void; reject: (err: unknown) => void };
  /** Resolves when the dump has sent every planned event; rejects when serving it failed. */
  readonly streamed: Promise<void>;
  #connectionId = 1;

  constructor(options: SourceOptions) {
    this.#options = options;
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
    socket.write(frame(handshakePacket(VERSION, this.#connectionId++, scramble), 0).bytes);
    let user = '';
    socket.on('data', (data: Buffer) => {
      try {
        for (const { seq, payload } of reader.push(data)) {
          if (phase === 'dump') continue;
          if (phase === 'handshake') {
            const hr = parseHandshakeResponse(payload);
            user = hr.user;
            if (hr.plugin !== null && hr.plugin !== NATIVE_PASSWORD) {
              phase = 'switch';
              send(authSwitchPacket(scramble), seq + 1);
              continue;
            }
            const ok = this.#authenticate(user, scramble, hr.authResponse, (p) => send(p, seq + 1));
            if (!ok) socket.end();
            phase = ok ? 'command' : 'dump'; // a refused client is ignored until it goes
            continue;
          }
          if (phase === 'switch') {
            const ok = this.#authenticate(user, scramble, payload, (p) => send(p, seq + 1));
            if (!ok) socket.end();
            phase = ok ? 'command' : 'dump'; // a refused client is ignored until it goes
            continue;
          }
          phase = this.#command(socket, payload, send) ?? phase;
        }
      } catch (err) {
        this.#options.logger.log('warn', 'Replication client protocol error', { error: (err as Error).message });
        socket.destroy();
      }
    });
  }

  #authenticate(user: string, scramble: Buffer, response: Buffer, send: (p: Buffer) => void): boolean {
    const ok = user === this.#options.user && nativePasswordMatches(this.#options.password, scramble, response);
    if (ok) send(okPacket());
    else {
      send(errPacket(ER.ACCESS_DENIED, '28000', `Access denied for user '${user}'`));
      this.#options.logger.log('warn', 'Refused a replication client: wrong user or password', { user: user.slice(0, 64) });
    }
    return ok;
  }

  /** One command; returns the next phase when it changes. */
  #command(socket: net.Socket, payload: Buffer, send: (p: Buffer, seq: number) => number): 'dump' | undefined {
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
      const reply = this.#query(payload.toString('utf8', 1).trim());
      let seq = 1;
      for (const p of reply) seq = send(p, seq);
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
      void this.#dump(socket, request);
      return 'dump';
    }
    send(errPacket(ER.UNKNOWN_COM, '08S01', `command ${command ?? '?'} is not supported by binlog-archiver`), 1);
    return undefined;
  }

  async #dump(socket: net.Socket, request: DumpRequest): Promise<void> {
    const framer = new DumpFramer(socket, this.#options.serverId, this.#options.checksum, 1);
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
    const timer = setInterval(() => { framer.heartbeat().catch(() => socket.destroy()); }, this.#heartbeatMs);
    timer.unref();
    socket.on('close', () => clearInterval(timer));
  }

  #variable(name: string): string | null {
    if (name === 'server_id') return String(this.#options.serverId);
    if (name === 'binlog_checksum') return this.#options.checksum ? 'CRC32' : 'NONE';
    if (name === 'gtid_domain_id') return '0';
    return null;
  }

  /** The replica's setup queries (MariaDB's slave.cc); unknown ones get an error, which the replica tolerates or reports. */
  #query(sql: string): Buffer[] {
    const heartbeat = /^SET\s+@master_heartbeat_period\s*=\s*(\d+)/i.exec(sql);
    if (heartbeat !== null) this.#heartbeatMs = Math.max(100, Math.min(30_000, Math.floor(Number(heartbeat[1]) / 1e6) || 5000));
    if (/^SET\b/i.test(sql)) return [okPacket()];
    const one = (value: string): Buffer[] => resultSet(['value'], [[value]]);
    const s = sql.replace(/\s+/g, ' ').toLowerCase();
    if (s === 'select unix_timestamp()') return one(String(Math.floor(Date.now() / 1000)));
    if (s === 'select @@global.server_id') return one(String(this.#options.serverId));
    if (s === 'select @master_binlog_checksum' || s === 'select @@global.binlog_checksum') return one(this.#options.checksum ? 'CRC32' : 'NONE');
    if (s === 'select @@global.gtid_domain_id') return one('0');
    const show = /^show (?:global )?variables like '([a-z_]+)'$/.exec(s);
    if (show !== null) {
      const value = this.#variable(show[1]!);
      return resultSet(['Variable_name', 'Value'], value === null ? [] : [[show[1]!, value]]);
    }
    if (process.env.BLARC_DEBUG_REPLICA === '1') process.stderr.write(`unanswered: ${sql}\n`);
    this.#options.logger.log('debug', 'Unanswered replica query', { sql: sql.slice(0, 200) });
    return [errPacket(ER.UNKNOWN_VARIABLE, 'HY000', `binlog-archiver does not answer: ${sql.slice(0, 100)}`)];
  }
}

export function replicationCredentials(): { user: string; password: string } {
  // A fresh password per run: the target stores it in its replica configuration until RESET SLAVE ALL.
  return { user: 'blarc_restore', password: randomBytes(18).toString('base64url') };
}

export function sourceError(message: string, hint?: string): ArchiverError {
  return new ArchiverError('EBADINPUT', message, hint === undefined ? {} : { hint });
}
