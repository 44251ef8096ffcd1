/**
 * Fresh-machine set-up: `up` finds each command a server needs (also in sbin and extra directories), and where one
 * is missing it installs the Debian package as root or fails naming the exact apt-get command.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ensurePackages, findCommand, installCommand, missingPackages } from '../../testenv/packages.ts';

describe('testenv packages', () => {
  it('finds commands on PATH, in sbin and in extra directories, and only executable files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blarc-pkg-'));
    fs.writeFileSync(path.join(dir, 'blarc-tool'), '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'blarc-data'), 'x', { mode: 0o644 });
    fs.mkdirSync(path.join(dir, 'blarc-dir'));
    assert.equal(findCommand('blarc-tool'), undefined);
    assert.equal(findCommand('blarc-tool', [dir]), path.join(dir, 'blarc-tool'));
    assert.equal(findCommand('blarc-data', [dir]), undefined);
    assert.equal(findCommand('blarc-dir', [dir]), undefined);
    assert.ok(findCommand('sh') !== undefined);
  });

  it('lists each missing package once, sorted', () => {
    const needs = [
      { command: 'sh', pkg: 'dash' },
      { command: 'blarc-missing-a', pkg: 'pkg-b' },
      { command: 'blarc-missing-b', pkg: 'pkg-b' },
      { command: 'blarc-missing-c', pkg: 'pkg-a' },
    ];
    assert.deepEqual(missingPackages(needs), ['pkg-a', 'pkg-b']);
    assert.equal(installCommand(['pkg-a', 'pkg-b']), 'apt-get update && apt-get install -y --no-install-recommends pkg-a pkg-b');
  });

  it('without permission to install, fails naming the missing commands and the exact command', async () => {
    const before = process.env.TESTENV_NO_INSTALL;
    process.env.TESTENV_NO_INSTALL = '1';
    try {
      await assert.rejects(ensurePackages([{ command: 'blarc-missing-tool', pkg: 'blarc-missing-pkg' }], os.tmpdir()), (err: Error) => {
        assert.match(err.message, /blarc-missing-tool not found/);
        assert.match(err.message, /apt-get update && apt-get install -y --no-install-recommends blarc-missing-pkg/);
        return true;
      });
      await ensurePackages([{ command: 'sh', pkg: 'dash' }], os.tmpdir());
    } finally {
      if (before === undefined) delete process.env.TESTENV_NO_INSTALL;
      else process.env.TESTENV_NO_INSTALL = before;
    }
  });
});
