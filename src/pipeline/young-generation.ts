/**
 * The archive's main thread keeps its V8 young generation at its initial size (two 1 MiB semi-spaces) instead of
 * letting it grow to 2 × 4 MiB. Module loading alone makes V8 grow it (everything loaded survives), and on a binlog
 * of small transactions the inspector's per-transaction allocations then cycle through all 8 MiB: measured
 * 6 MiB of the peak RSS of an archive (docs/PERFORMANCE.md 4e). With the inspector allocating ~140 bytes per
 * transaction the extra scavenges of the smaller space cost no measurable CPU.
 *
 * `--max-semi-space-size` only takes effect when the heap is set up (a command-line flag, which the image's
 * `node dist/bin/...` does not pass); the growth factor is read each time V8 decides to grow the space, so setting
 * it to 1 at run time stops the growth. An unknown flag is ignored by V8 (test/pipeline/young-generation.test.ts
 * checks it still works).
 */
import v8 from 'node:v8';

/** Call before loading the command's modules. Process-wide, and for the process's lifetime: for the archive command. */
export function capYoungGeneration(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
