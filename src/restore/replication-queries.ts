/**
 * The SQL a replica's I/O thread sends its source before asking for the binlogs (MariaDB's slave.cc, MySQL's
 * rpl_replica.cc: the source's clock, server id and UUID, checksum and GTID mode, heartbeat period, its own
 * identity), answered from a small table of the source's variables. `SET @x = @@global.y` stores y's value in the
 * user variable x, as a server does, so `SELECT @x` returns it (how both replicas learn the checksum algorithm).
 * A system variable not in the table gets the server's error for an unknown variable, which the replica either
 * tolerates or reports as its I/O error (then nothing was sent: replica-control.ts).
 */
import { errPacket, okPacket, resultSet } from './replication-packets.ts';

const ER_UNKNOWN_SYSTEM_VARIABLE = 1193;

export interface QueryAnswers {
  /** The payloads of the reply, in order. */
  reply: Buffer[];
  /** Whether the query was answered from the table (false: the unknown-variable error, for the log). */
  known: boolean;
}

const HEARTBEAT_VARS = new Set(['master_heartbeat_period', 'source_heartbeat_period']);

/** One source's answers; `variables` are lower-case system variable names and their values. */
export class ReplicaQueries {
  readonly #variables: ReadonlyMap<string, string>;
  readonly #userVars = new Map<string, string | null>();
  /** The heartbeat period this replica asked for (ms); 5 s until it asks. */
  heartbeatMs = 5000;

  constructor(variables: Record<string, string>) {
    this.#variables = new Map(Object.entries(variables).map(([k, v]) => [k.toLowerCase(), v]));
  }

  answer(sql: string): QueryAnswers {
    const s = sql.trim().replace(/\s+/g, ' ').replace(/;$/, '');
    if (/^set /i.test(s)) return this.#set(s.slice(4));
    const lower = s.toLowerCase();
    const one = (value: string | null): QueryAnswers => ({ reply: resultSet(['value'], [[value]]), known: true });
    if (lower === 'select unix_timestamp()') return one(String(Math.floor(Date.now() / 1000)));
    if (lower === 'select version()') return one(this.#variables.get('version') ?? null);
    const sys = /^select @@(?:global\.)?([a-z_]+)$/.exec(lower);
    if (sys !== null) {
      const value = this.#variables.get(sys[1]!);
      return value === undefined ? unknown(sys[1]!) : one(value);
    }
    const user = /^select @([a-z_]+)$/.exec(lower);
    if (user !== null) return one(this.#userVars.get(user[1]!) ?? null);
    const show = /^show (?:global )?variables like '([a-z_]+)'$/.exec(lower);
    if (show !== null) {
      const value = this.#variables.get(show[1]!);
      return { reply: resultSet(['Variable_name', 'Value'], value === undefined ? [] : [[show[1]!, value]]), known: value !== undefined };
    }
    return unknown(s.slice(0, 100));
  }

  /** `SET @a = value [, @b = value]`: user variables are kept; anything else set (session settings) is accepted. */
  #set(assignments: string): QueryAnswers {
    for (const part of assignments.split(',')) {
      const m = /^\s*@([a-zA-Z_]+)\s*=\s*(.+?)\s*$/.exec(part);
      if (m === null) continue;
      const name = m[1]!.toLowerCase();
      const value = this.#value(m[2]!);
      this.#userVars.set(name, value);
      if (HEARTBEAT_VARS.has(name) && value !== null && /^\d+$/.test(value)) {
        // Nanoseconds; a period of 0 turns heartbeats off, which a stream that idles at its end cannot afford.
        this.heartbeatMs = Math.max(100, Math.min(30_000, Math.floor(Number(value) / 1e6) || 5000));
      }
    }
    return { reply: [okPacket()], known: true };
  }

  #value(expr: string): string | null {
    const sys = /^@@(?:global\.)?([a-zA-Z_]+)$/.exec(expr);
    if (sys !== null) return this.#variables.get(sys[1]!.toLowerCase()) ?? null;
    const quoted = /^'((?:[^'\\]|\\.)*)'$/.exec(expr);
    if (quoted !== null) return quoted[1]!.replace(/\\(.)/g, '$1');
    return expr;
  }
}

function unknown(what: string): QueryAnswers {
  return { reply: [errPacket(ER_UNKNOWN_SYSTEM_VARIABLE, 'HY000', `binlog-archiver does not answer: ${what}`)], known: false };
}
