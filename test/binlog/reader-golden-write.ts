/**
 * `node test/binlog/reader-golden-write.ts`: writes test/fixtures/reader-golden.json, the reader's results on every
 * fixture binlog (reader-results.ts). Run it only to record a reference, from the reader that is to be matched.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { goldenFiles, GOLDEN } from './reader-golden.ts';
import { resultsFor } from './reader-results.ts';

const files: Record<string, unknown> = {};
for (const { rel, path } of goldenFiles()) {
  const { results, chunkMismatches } = await resultsFor(path, rel);
  if (chunkMismatches.length > 0) throw new Error(`${rel}: push inspector differs from the file reader at ${chunkMismatches.join(', ')}`);
  files[rel] = results;
}
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src/binlog', 'src/restore/boundaries.ts'], { encoding: 'utf8' }).trim() !== '';
// One line per file and section: small, and a difference shows where it is.
const lines = Object.entries(files).map(([rel, r]) => `  ${JSON.stringify(rel)}: {\n${Object.entries(r as Record<string, unknown>).map(([k, v]) => `   ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(',\n')}\n  }`);
writeFileSync(GOLDEN, `{\n "generatedBy": ${JSON.stringify(`src/binlog and src/restore/boundaries.ts at ${commit}${dirty ? ' (modified)' : ''}`)},\n "files": {\n${lines.join(',\n')}\n }\n}\n`);
process.stdout.write(`${Object.keys(files).length} files -> ${GOLDEN}\n`);
