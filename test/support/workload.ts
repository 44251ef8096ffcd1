/**
 * A small OLTP workload for the PITR tests on real MariaDB: three tables, rounds of random inserts, transfers
 * (multi-statement transactions), deletes and large notes, and one checksum string of the whole state.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { MysqlClient } from './mysql.ts';

const TABLES = ['accounts', 'ledger', 'notes'];

export const WORKLOAD_SCHEMA = (db: string): string => `CREATE DATABASE ${db}; CREATE TABLE ${db}.accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL, name VARCHAR(64));
  CREATE TABLE ${db}.ledger (seq BIGINT AUTO_INCREMENT PRIMARY KEY, account INT, delta INT, round INT);
  CREATE TABLE ${db}.notes (id BIGINT AUTO_INCREMENT PRIMARY KEY, body MEDIUMTEXT)`;

/** Every table's extended checksum and the ledger's row count, as one comparable string. */
export async function checksums(query: (sql: string) => Promise<string>, db: string): Promise<string> {
  return (await query(`CHECKSUM TABLE ${TABLES.map((t) => `${db}.${t}`).join(', ')} EXTENDED; SELECT COUNT(*) FROM ${db}.ledger`)).trim();
}

export async function workloadRound(client: Pick<MysqlClient, 'query'>, db: string, round: number, statementsPerRound = 40): Promise<void> {
  const statements: string[] = [];
  for (let i = 0; i < statementsPerRound; i++) {
    const pick = randomInt(100);
    const id = randomInt(1, 200);
    if (pick < 45) statements.push(`INSERT INTO ${db}.accounts (id, balance, name) VALUES (${id}, ${randomInt(10000)}, '${randomBytes(6).toString('hex')}') ON DUPLICATE KEY UPDATE balance = balance + ${randomInt(100)}`);
    else if (pick < 70) statements.push(`START TRANSACTION; UPDATE ${db}.accounts SET balance = balance - 7 WHERE id = ${id}; INSERT INTO ${db}.ledger (account, delta, round) VALUES (${id}, -7, ${round}); COMMIT`);
    else if (pick < 85) statements.push(`DELETE FROM ${db}.accounts WHERE id = ${id}`);
    else statements.push(`INSERT INTO ${db}.notes (body) VALUES (REPEAT('${randomBytes(8).toString('hex')}', ${randomInt(1, 3000)}))`);
  }
  await client.query(statements.join(';\n'));
}
