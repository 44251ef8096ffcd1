/** Where the reader's reference results live and which fixture binlogs they cover. */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIXTURES } from './helpers.ts';

export const GOLDEN = fileURLToPath(new URL('../fixtures/reader-golden.json', import.meta.url));

/** Every binlog-like fixture file (all but the index, the expectations and the keyring), sorted. */
export function goldenFiles(): { rel: string; path: string }[] {
  const out: { rel: string; path: string }[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!['INDEX.md', 'expected.json', 'keyring'].includes(name)) out.push({ rel: relative(FIXTURES, p), path: p });
    }
  };
  walk(FIXTURES);
  return out;
}
