/**
 * `--import` this module (NODE_OPTIONS) with RECORD_MODULES=FILE: every module URL the process resolves is
 * appended to FILE, one a line. test/cli/lazy-commands.test.ts uses it to check what a command loads.
 */
import fs from 'node:fs';
import { registerHooks } from 'node:module';

const out = process.env.RECORD_MODULES;
if (out !== undefined && out !== '') {
  const seen = new Set<string>();
  registerHooks({
    resolve(specifier, context, next) {
      const resolved = next(specifier, context);
      if (!seen.has(resolved.url)) {
        seen.add(resolved.url);
        fs.appendFileSync(out, `${resolved.url}\n`);
      }
      return resolved;
    },
  });
}
