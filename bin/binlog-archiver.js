#!/usr/bin/env node
// The CLI; the exit code is the command's. In a checkout Node 24 runs the TypeScript sources (stripping types); the
// image runs this file as built by `npm run build` (scripts/build.ts: dist/, the same layout in JavaScript).
import fs from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';

/**
 * Node's compile cache (stripped TypeScript and V8 code cache) roughly halves the CPU a start costs once a first
 * run has filled it (docs/PERFORMANCE.md). Its directory is NODE_COMPILE_CACHE, or a private one under the temp
 * directory (writable in a read-only-root Pod: /tmp is its emptyDir), used only if it is ours and not writable by
 * others; without one the CLI runs uncached. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
function compileCacheDir() {
  if (process.env.NODE_COMPILE_CACHE) return process.env.NODE_COMPILE_CACHE;
  const top = path.join(os.tmpdir(), `binlog-archiver-${process.getuid?.() ?? 'user'}`);
  try {
    fs.mkdirSync(path.join(top, 'compile-cache'), { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(top);
    const ours = st.isDirectory() && (process.getuid === undefined || st.uid === process.getuid()) && (st.mode & 0o022) === 0;
    return ours ? path.join(top, 'compile-cache') : undefined;
  } catch {
    return undefined;
  }
}

const cacheDir = process.env.NODE_DISABLE_COMPILE_CACHE ? undefined : compileCacheDir();
if (cacheDir !== undefined) module.enableCompileCache?.(cacheDir);

const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
