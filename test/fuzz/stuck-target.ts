/**
 * A fuzz target for the fuzzer's own test: case 1 spins forever in a synchronous loop, case 2 throws an untyped
 * error, case 3 accepts; the others refuse with a typed error. Proves the runner's watchdog and verdicts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ArchiverError } from '../../src/errors.ts';
import { type FuzzTarget, type TargetContext, judgeError, TYPED_CODES } from '../../scripts/fuzz/outcome.ts';

export function createTarget(ctx: TargetContext): FuzzTarget {
  return {
    prepare(index) {
      const dir = path.join(ctx.work, `case-${index}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'input.bin'), `case ${index}`);
      return Promise.resolve({
        dir, steps: [`case ${index}`], rerun: [],
        run: () => {
          if (index === 1) for (;;) { /* a hang the runner must detect */ }
          if (index === 3) return Promise.resolve({ verdict: 'accepted' as const, cls: 'accepted', detail: '' });
          const err = index === 2 ? new TypeError('untyped') : new ArchiverError('EFORMAT', 'refused');
          return Promise.resolve(judgeError(err, TYPED_CODES, 'stuck-target'));
        },
      });
    },
  };
}
