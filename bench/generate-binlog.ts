/**
 * A real binlog of at least N MiB from the test environment's MariaDB: an order-processing workload in ROW
 * format, rotated before and after so the file holds only this workload. Cached under
 * ~/.cache/binlog-archiver/bench/ by size, so later runs reuse it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { mysqlClient } from '../test/support/mysql.ts';
import { need } from '../test/support/testenv.ts';
import { cacheRoot } from '../testenv/versions.ts';

export async function generateBinlog(mib: number): Promise<string> {
  const dir = path.join(path.dirname(cacheRoot()), 'bench');
  const target = path.join(dir, `mariadb-orders-${mib}mib.000001`);
  if (fs.existsSync(target)) return target;
  fs.mkdirSync(dir, { recursive: true });
  const mysql = need('mysql');
  const client = mysqlClient(mysql);
  process.stderr.write(`bench: generating a ${mib} MiB binlog on the test MariaDB (once; cached as ${target})\n`);
  await client.query(`SET GLOBAL max_binlog_size = 1073741824; CREATE DATABASE IF NOT EXISTS bench;
    CREATE TABLE IF NOT EXISTS bench.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer INT, amount DECIMAL(12,2), status VARCHAR(16),
      note VARCHAR(200), created DATETIME(6)); FLUSH BINARY LOGS`);
  try {
    const file = (await client.query('SHOW MASTER STATUS')).split('\t')[0] ?? '';
    const live = path.join(mysql.binlogDir, file);
    while (fs.statSync(live).size < mib * 1048576) {
      await client.query(`INSERT INTO bench.orders (customer, amount, status, note, created)
        SELECT FLOOR(RAND() * 100000), ROUND(RAND() * 1000, 2), ELT(1 + FLOOR(RAND() * 4), 'new', 'paid', 'shipped', 'void'),
          CONCAT('order ', seq, ' for customer ', FLOOR(RAND() * 100000), ' ref ', LEFT(MD5(RAND()), 12)), NOW(6)
        FROM bench.seq_1_to_20000;
        UPDATE bench.orders SET status = 'paid', amount = amount + 1 WHERE status = 'new' ORDER BY id DESC LIMIT 300`);
    }
    await client.query('FLUSH BINARY LOGS; DROP DATABASE bench');
    fs.copyFileSync(live, `${target}.partial`);
    fs.renameSync(`${target}.partial`, target);
    return target;
  } finally {
    await client.query('SET GLOBAL max_binlog_size = 1048576');
  }
}
