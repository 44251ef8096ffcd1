/**
 * The legacy decoder streams: objects written by the real `zstd -3 | openssl enc` are decoded from disk without
 * the process holding them: peak RSS growth stays under half the plaintext size (measured, it levels off near
 * 75 MiB whatever the size: buffers freed by a later GC), both for incompressible data (a large object) and for
 * a tiny object that decompresses to a lot (a zstd bomb).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { legacyDigest } from '../../src/lifecycle/legacy-decode.ts';
import { tempDir } from '../support/archive.ts';

const MiB = 1024 * 1024;
const PASS = 'streaming test passphrase';

/** Writes plaintext with `make` (a shell command to stdout), encodes it as the legacy pipeline does; its sha256. */
function legacyObject(dir: string, make: string): { object: string; sha256: string } {
  const pass = path.join(dir, 'pass');
  fs.writeFileSync(pass, `${PASS}\n`, { mode: 0o600 });
  const object = path.join(dir, 'object.zst.enc');
  const sha256 = execFileSync('sh', ['-c', `${make} | tee "$2" | sha256sum | cut -c1-64; zstd -3 -q -c "$2" | openssl enc -aes-256-cbc -salt -pbkdf2 -iter 100000 -pass "file:$1" -out "$3"; rm "$2"`,
    'sh', pass, path.join(dir, 'plain'), object]).toString().trim();
  return { object, sha256 };
}

async function decodeMeasured(object: string): Promise<{ sha256: string; length: number; growth: number }> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 10);
  try {
    const d = await legacyDigest(fs.createReadStream(object, { highWaterMark: MiB }), 'openssl-aes-256-cbc', Buffer.from(PASS));
    return { sha256: d.plaintextSha256, length: d.plaintextLength, growth: peak - base };
  } finally {
    clearInterval(sampler);
  }
}

for (const [what, make, size] of [
  ['a 256 MiB incompressible binlog', `openssl rand ${256 * MiB}`, 256 * MiB],
  ['a zstd bomb (256 MiB of zeros in a small object)', `head -c ${256 * MiB} /dev/zero`, 256 * MiB],
] as const) {
  it(`decodes ${what} as a stream, in bounded memory`, async () => {
    const { object, sha256 } = legacyObject(tempDir('blarc-legacy-'), make);
    const r = await decodeMeasured(object);
    assert.deepEqual([r.length, r.sha256], [size, sha256]);
    assert.ok(r.growth < size / 2, `peak RSS grew by ${(r.growth / MiB).toFixed(1)} MiB decoding ${size / MiB} MiB of plaintext`);
    fs.rmSync(path.dirname(object), { recursive: true });
  });
}
