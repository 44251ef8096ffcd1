/**
 * Everything read from the store's manifest is checked where it is read: hostile or damaged entries (path
 * traversal names, wrong types, unknown formats and flavors, keys pointing elsewhere) are one EFORMAT each, naming
 * the entry and the field; the well-formed entries of a store written by a release still parse.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { StoreReader } from '../../src/controller/store-view.ts';
import { ArchiverError } from '../../src/errors.ts';
import { manifestKey, objectKey } from '../../src/store/layout.ts';
import { type ManifestEntry, listSources, readEntries, readEntriesChecked } from '../../src/store/manifest.ts';
import { type Site, parseManifestEntry, parseSourceIndex } from '../../src/store/manifest-schema.ts';
import { openStore } from '../../src/store/open-store.ts';
import { tempDir } from '../support/archive.ts';
import { REPO_ROOT } from '../support/testenv.ts';

const STORES = path.join(REPO_ROOT, 'test', 'fixtures', 'stores');
const ENTRY_KEY = 'manifest/v1db/0000000002-mysql-bin.000002.json';
const site = (key = ENTRY_KEY, source = 'v1db'): Site => ({ key, where: key, source });
const read = (store: string, key: string): Buffer => fs.readFileSync(path.join(STORES, store, 'store', key));

/** An entry as JSON a hostile writer edits: any part may be set to anything. */
type Part = Record<string, unknown>;
interface Json { source: Part; binlog: Part; object: Part; key: Part }
const loose = (e: Json): Record<string, unknown> => e as unknown as Record<string, unknown>;

/** The gcm fixture's second entry, changed by `edit`, as the bytes a store would hold. */
function edited(edit: (e: Json) => void, store = 'v1-gcm'): Buffer {
  const entry = JSON.parse(read(store, ENTRY_KEY).toString('utf8')) as Json;
  edit(entry);
  return Buffer.from(JSON.stringify(entry));
}

/** Parsing must fail with one EFORMAT naming the entry; returns its message for field-specific checks. */
function refused(raw: Buffer, at: Site = site()): string {
  let message = '';
  assert.throws(() => parseManifestEntry(raw, at), (err: unknown) => {
    assert.ok(err instanceof ArchiverError, `expected an ArchiverError, got ${String(err)}`);
    assert.equal(err.code, 'EFORMAT', err.message);
    assert.ok(err.message.startsWith(`manifest entry ${at.where}: `), err.message);
    message = err.message;
    return true;
  });
  return message;
}

describe('manifest entries written by binlog-archiver parse', () => {
  for (const store of ['v1-gcm', 'v1-openssl']) {
    it(`every entry and the index of the ${store} fixture store`, () => {
      for (const n of [1, 2]) {
        const key = manifestKey('v1db', n, `mysql-bin.00000${n}`);
        const raw = read(store, key);
        assert.deepEqual(parseManifestEntry(raw, site(key)), JSON.parse(raw.toString('utf8')));
      }
      const index = read(store, 'index/v1db.json');
      assert.deepEqual(parseSourceIndex(index, site('index/v1db.json')), JSON.parse(index.toString('utf8')));
    });
  }
});

describe('hostile binlog names are refused', () => {
  const names: [string, string, RegExp][] = [
    ['path traversal', '../src/mysql-bin.000002', /binlog\.name must be a plain file name/],
    ['an absolute path', '/etc/mysql-bin.000002', /binlog\.name must be a plain file name/],
    ['a backslash path', '..\\mysql-bin.000002', /binlog\.name must be a plain file name/],
    ['a newline', 'mysql-bin\n.000002', /binlog\.name contains a control character/],
    ['a NUL', 'mysql-bin\u0000.000002', /binlog\.name contains a control character/],
    ['an option for mysqlbinlog', '--result-file=x.000002', /binlog\.name must not start with "-"/],
    ['"."', '.', /binlog\.name must be <base>\.<6 or more digits>/],
    ['".."', '..', /binlog\.name must be <base>\.<6 or more digits>/],
    ['empty', '', /binlog\.name must be 1 to 255 UTF-8 bytes \(got 0\)/],
    ['too long', `${'a'.repeat(300)}.000002`, /binlog\.name must be 1 to 255 UTF-8 bytes \(got 307\)/],
    ['no sequence suffix', 'mysql-bin', /binlog\.name must be <base>\.<6 or more digits>/],
  ];
  for (const [what, name, pattern] of names) {
    it(what, () => assert.match(refused(edited((e) => { e.binlog.name = name; })), pattern));
  }

  it('the writer refuses the same names, so nothing unreadable is ever written', () => {
    for (const [, name] of names) {
      assert.throws(() => objectKey('v1db', 2, name, 'gcm'), (err: unknown) => err instanceof ArchiverError && err.code === 'EBADINPUT');
    }
  });
});

describe('malformed entries are EFORMAT naming the entry and the field', () => {
  it('a null entry, an array, and text that is not JSON', () => {
    assert.match(refused(Buffer.from('null')), /: the entry must be a JSON object \(got null\)$/);
    assert.match(refused(Buffer.from('[]')), /: the entry must be a JSON object \(got an array\)$/);
    assert.match(refused(Buffer.from('{"schema":')), /is not valid UTF-8 JSON/);
    assert.match(refused(Buffer.from([0x7b, 0xff, 0x7d])), /is not valid UTF-8 JSON/);
  });

  for (const part of ['binlog', 'object', 'source', 'key']) {
    it(`${part} missing, and ${part} null`, () => {
      assert.match(refused(edited((e) => { delete loose(e)[part]; })), new RegExp(`: ${part} is missing$`));
      assert.match(refused(edited((e) => { loose(e)[part] = null; })), new RegExp(`: ${part} must be a JSON object \\(got null\\)$`));
    });
  }

  it('a missing nested field is named by its path', () => {
    assert.match(refused(edited((e) => { delete e.binlog.name; })), /: binlog\.name is missing$/);
    assert.match(refused(edited((e) => { delete e.object.key; })), /: object\.key is missing$/);
  });

  it('wrong types, each named; every bad field in one message', () => {
    const message = refused(edited((e) => {
      e.binlog.sequence = '2';
      e.binlog.size = -1;
      e.object.size = 1.5;
      e.binlog.transactionCompressed = 'yes';
      e.source.serverId = '3150';
      e.key.context = { source: 7 };
    }));
    for (const field of ['binlog.sequence', 'binlog.size', 'object.size', 'binlog.transactionCompressed', 'source.serverId', 'key.context["source"]']) {
      assert.ok(message.includes(`${field} must be`), `${field} not named in: ${message}`);
    }
  });

  it('format "rot13", flavor "oracle", an unknown format version', () => {
    assert.match(refused(edited((e) => { e.object.format = 'rot13'; })), /object\.format must be one of "gcm", "openssl-aes-256-cbc" \(got "rot13"\)/);
    assert.match(refused(edited((e) => { e.source.flavor = 'oracle'; })), /source\.flavor must be one of "mysql", "mariadb" \(got "oracle"\)/);
    assert.match(refused(edited((e) => { e.object.formatVersion = 99; })), /object\.formatVersion is 99; this build reads gcm versions/);
  });

  it('object.compression: optional (older entries have none), checked when present', () => {
    assert.equal(parseManifestEntry(edited(() => undefined), site()).object.compression, undefined);
    const good = { level: 2, frames: 3, storedFrames: 2 };
    assert.deepEqual(parseManifestEntry(edited((e) => { e.object.compression = good; }), site()).object.compression, good);
    assert.match(refused(edited((e) => { e.object.compression = null; })), /object\.compression must be a JSON object \(got null\)/);
    assert.match(refused(edited((e) => { e.object.compression = { ...good, level: 0 }; })), /object\.compression\.level must be an integer from 1 to 19/);
    assert.match(refused(edited((e) => { e.object.compression = { level: 2, frames: 3 }; })), /object\.compression\.storedFrames is missing/);
    assert.match(refused(edited((e) => { e.object.compression = { ...good, storedFrames: 4 }; })), /object\.compression\.storedFrames is 4, more than the object's 3 frames/);
    // smallTableFrames: optional (entries written before it), counted with the stored frames against the total.
    const withSmall = { level: 2, frames: 3, storedFrames: 1, smallTableFrames: 2 };
    assert.deepEqual(parseManifestEntry(edited((e) => { e.object.compression = withSmall; }), site()).object.compression, withSmall);
    assert.match(refused(edited((e) => { e.object.compression = { ...withSmall, smallTableFrames: 3 }; })), /object\.compression\.smallTableFrames is 3, more than the 2 frames left beside the 1 stored of the object's 3/);
    assert.match(refused(edited((e) => { e.object.compression = { ...withSmall, smallTableFrames: -1 }; })), /object\.compression\.smallTableFrames must be/);
  });

  it('binlog.edgesSha256: optional (older entries have none), 64 lowercase hex digits when present', () => {
    assert.equal(parseManifestEntry(edited(() => undefined), site()).binlog.edgesSha256, undefined);
    const good = 'ab'.repeat(32);
    assert.equal(parseManifestEntry(edited((e) => { e.binlog.edgesSha256 = good; }), site()).binlog.edgesSha256, good);
    for (const bad of [good.toUpperCase(), good.slice(1), null, 7]) {
      assert.match(refused(edited((e) => { e.binlog.edgesSha256 = bad; })), /binlog\.edgesSha256 must be/);
    }
  });

  it('hashes, times, ids and GTIDs of the wrong shape', () => {
    assert.match(refused(edited((e) => { e.binlog.sha256 = String(e.binlog.sha256).toUpperCase(); })), /binlog\.sha256 must be 64 lowercase hex digits/);
    assert.match(refused(edited((e) => { e.binlog.lastEventTime = '2018-02-30T00:00:00.000Z'; })), /binlog\.lastEventTime must be a UTC time/);
    assert.match(refused(edited((e) => { e.binlog.lastEventTime = 'Oct 17 2018 08:09:51'; })), /binlog\.lastEventTime must be a UTC time/);
    assert.match(refused(edited((e) => { loose(e).archivedAt = '2018-10-17 08:09:51'; })), /archivedAt must be a UTC time/);
    assert.match(refused(edited((e) => { loose(e).correlationId = '../x'; })), /correlationId must be bl-<uuid>/);
    assert.match(refused(edited((e) => { loose(e).batchId = 'batch-x'; })), /batchId must be batch-/);
    assert.match(refused(edited((e) => { e.binlog.gtidsAdded = 'garbage'; })), /binlog\.gtidsAdded is not a mysql GTID set/);
    // MySQL GTIDs in an entry that claims MariaDB.
    assert.match(refused(edited((e) => { e.source.flavor = 'mariadb'; })), /binlog\.previousGtids is not a mariadb GTID set/);
    assert.match(refused(edited((e) => { e.binlog.lastGtid = '0-1-5'; })), /binlog\.lastGtid is not a mysql GTID/);
  });

  it('positions out of order, a sequence that is not the name\'s suffix', () => {
    assert.match(refused(edited((e) => { e.binlog.endPosition = Number(e.binlog.size) + 1; })), /positions must satisfy firstPosition <= lastPosition <= endPosition <= size/);
    assert.match(refused(edited((e) => { e.binlog.firstPosition = Number(e.binlog.lastPosition) + 1; })), /positions must satisfy/);
    assert.match(refused(edited((e) => { e.binlog.sequence = 3; })), /binlog\.sequence is 3, but the binlog name "mysql-bin\.000002" ends in 2/);
  });

  it('an object key pointing at another binlog\'s object, or outside binlogs/', () => {
    const other = 'binlogs/v1db/0000000001-mysql-bin.000001.blarc';
    assert.match(refused(edited((e) => { e.object.key = other; })),
      /object\.key is "binlogs\/v1db\/0000000001-mysql-bin\.000001\.blarc", but the layout puts this binlog's object at "binlogs\/v1db\/0000000002-mysql-bin\.000002\.blarc"/);
    assert.match(refused(edited((e) => { e.object.key = 'index/v1db.json'; })), /object\.key is "index\/v1db\.json", but the layout puts/);
    assert.match(refused(edited((e) => { e.object.key = 'binlogs/v1db/../../manifest/v1db/0000000002-mysql-bin.000002.blarc'; })), /object\.key .* but the layout puts/);
    assert.match(refused(edited((e) => { e.object.sidecarKey = `${String(e.object.key)}.json`; })), /object\.sidecarKey .* at nothing \(null\)/);
    assert.match(refused(edited((e) => { e.object.sidecarKey = 'binlogs/v1db/0000000001-mysql-bin.000001.zst.aes.json'; }, 'v1-openssl')),
      /object\.sidecarKey .* sidecar at "binlogs\/v1db\/0000000002-mysql-bin\.000002\.zst\.aes\.json"/);
  });

  it('an entry stored under another key or another source than its fields say', () => {
    assert.match(refused(edited(() => undefined), site('manifest/v1db/0000000003-mysql-bin.000003.json')), /the entry is stored at .* but its source, sequence and binlog name belong at "manifest\/v1db\/0000000002-mysql-bin\.000002\.json"/);
    assert.match(refused(edited(() => undefined), site(ENTRY_KEY, 'other')), /source\.name is "v1db", but the entry is listed under source "other"/);
  });

  it('the key block: a gcm entry without a wrapped key, or with non-canonical base64', () => {
    assert.match(refused(edited((e) => { e.key.wrappedDek = null; })), /key\.wrappedDek is missing \(null\) for a gcm object/);
    assert.match(refused(edited((e) => { e.key.wrappedDek = 'AB=='.replace('B', 'C'); })), /key\.wrappedDek must be non-empty canonical base64/);
    assert.match(refused(edited((e) => { e.key.wrappedDek = 'not base64!'; })), /key\.wrappedDek must be canonical base64/);
    assert.match(refused(edited((e) => { e.key.wrappedDek = 'AAAA'; }, 'v1-openssl')), /key\.wrappedDek must be null for format openssl-aes-256-cbc/);
  });

  it('another schema is one problem, not one per field', () => {
    const message = refused(edited((e) => { loose(e).schema = 'binlog-archiver.dev/manifest-entry/v9'; loose(e).binlog = null; }));
    assert.match(message, /: has schema "binlog-archiver\.dev\/manifest-entry\/v9"; this build reads binlog-archiver\.dev\/manifest-entry\/v1$/);
  });

  it('extra fields are dropped, and a "__proto__" context name stays plain data', () => {
    const entry: ManifestEntry = parseManifestEntry(Buffer.from(edited((e) => { loose(e).extra = 1; }).toString('utf8')
      .replace('"context":{', '"context":{"__proto__":"x",')), site());
    assert.equal(Object.hasOwn(entry, 'extra'), false);
    assert.equal(Object.getPrototypeOf(entry.key.context), Object.prototype);
    assert.equal(entry.key.context['__proto__'], 'x');
  });
});

describe('the source index is checked the same way', () => {
  type Index = { source: unknown; entries: (Record<string, unknown> | null)[] };
  const indexEdited = (edit: (i: Index) => void): Buffer => {
    const index = JSON.parse(read('v1-gcm', 'index/v1db.json').toString('utf8')) as Index;
    edit(index);
    return Buffer.from(JSON.stringify(index));
  };
  const indexRefused = (raw: Buffer): string => {
    try {
      parseSourceIndex(raw, site('index/v1db.json'));
    } catch (err) {
      assert.ok(err instanceof ArchiverError && err.code === 'EFORMAT', String(err));
      return err.message;
    }
    assert.fail('the index was accepted');
  };

  it('refuses records whose keys or names point elsewhere', () => {
    assert.match(indexRefused(indexEdited((i) => { i.entries[1]!.objectKey = '../../etc/passwd'; })), /entries\[1\]\.objectKey is "\.\.\/\.\.\/etc\/passwd", but the layout puts/);
    assert.match(indexRefused(indexEdited((i) => { i.entries[0]!.entryKey = 'manifest/v1db/0000000002-mysql-bin.000002.json'; })), /entries\[0\]\.entryKey/);
    assert.match(indexRefused(indexEdited((i) => { i.entries[0]!.name = '../mysql-bin.000001'; })), /entries\[0\]\.name must be a plain file name/);
    assert.match(indexRefused(indexEdited((i) => { i.entries[0] = null; })), /entries\[0\] must be a JSON object \(got null\)/);
    assert.match(indexRefused(indexEdited((i) => { i.source = 'other'; })), /source is "other", but the index is stored for source "v1db"/);
  });

  it('the controller\'s store view reports a damaged index as a failed read, not as data', async () => {
    const dir = tempDir('blarc-index-');
    fs.cpSync(path.join(STORES, 'v1-gcm', 'store'), dir, { recursive: true });
    const reader = new StoreReader({ checkIntervalMs: 0 });
    const good = await reader.read(`file://${dir}`, 'v1db');
    assert.ok(good.ok, JSON.stringify(good));
    assert.deepEqual(good.entries.map((e) => e.name), ['mysql-bin.000001', 'mysql-bin.000002']);
    fs.writeFileSync(path.join(dir, 'index/v1db.json'), indexEdited((i) => { i.entries[1]!.objectKey = null; }));
    const bad = await reader.read(`file://${dir}`, 'v1db');
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.message, /^EFORMAT: source index .*index\/v1db\.json: entries\[1\]\.objectKey must be a string \(got null\)/);
  });
});

describe('reading a source with malformed entries', () => {
  function storeWithBadEntry(): { dir: string; badKey: string } {
    const dir = tempDir('blarc-manifest-');
    fs.cpSync(path.join(STORES, 'v1-gcm', 'store'), dir, { recursive: true });
    const badKey = 'manifest/v1db/0000000003-mysql-bin.000003.json';
    fs.writeFileSync(path.join(dir, badKey), edited((e) => { delete e.binlog.name; loose(e).object = null; }));
    return { dir, badKey };
  }

  it('readEntriesChecked returns the good entries and one problem per bad one', async () => {
    const { dir, badKey } = storeWithBadEntry();
    const { entries, problems } = await readEntriesChecked(openStore(`file://${dir}`), 'v1db');
    assert.deepEqual(entries.map((e) => e.binlog.name), ['mysql-bin.000001', 'mysql-bin.000002']);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.entryKey, badKey);
    assert.equal(problems[0]?.error.code, 'EFORMAT');
    assert.match(problems[0]?.error.message ?? '', /0000000003-mysql-bin\.000003\.json: binlog\.name is missing; object must be a JSON object \(got null\)$/);
  });

  it('readEntries (restore planning) refuses the whole source', async () => {
    const { dir } = storeWithBadEntry();
    await assert.rejects(readEntries(openStore(`file://${dir}`), 'v1db'), (err: unknown) =>
      err instanceof ArchiverError && err.code === 'EFORMAT' && /binlog\.name is missing/.test(err.message));
  });

  it('entries are read several at once (bounded), and reported in key order', async () => {
    // A store whose 40 entry reads each take 20 ms: one after the other they would take 0.8 s.
    const base = openStore(`file://${tempDir('blarc-manifest-slow-')}`);
    const keys = Array.from({ length: 40 }, (_, i) => `manifest/v1db/${String(i + 1).padStart(10, '0')}-mysql-bin.${String(i + 1).padStart(6, '0')}.json`);
    let running = 0;
    let most = 0;
    let failAt: string | undefined = keys[12];
    async function* list(): AsyncIterable<{ key: string; size: number }> {
      await Promise.resolve();
      for (const key of keys) yield { key, size: 2 };
    }
    async function* slowGet(key: string): AsyncIterable<Buffer> {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running--;
      if (key === failAt) throw new ArchiverError('ESTORE', `the store failed reading ${key}`);
      yield Buffer.from('{}');
    }
    const slow = new Proxy(base, {
      get(target, name) {
        if (name === 'list') return (prefix: string) => (prefix.startsWith('manifest/') ? list() : target.list(prefix));
        if (name === 'get') return (key: string) => (key.startsWith('manifest/') ? slowGet(key) : target.get(key));
        const value: unknown = Reflect.get(target, name, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    await assert.rejects(readEntriesChecked(slow, 'v1db'), /the store failed reading .*000013\.json/, 'a read error is not a malformed entry: it ends the read');
    // Reads already started when the error came end by themselves (their results dropped).
    while (running > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    failAt = undefined;
    most = 0;
    const { entries, problems } = await readEntriesChecked(slow, 'v1db');
    assert.equal(entries.length, 0);
    assert.deepEqual(problems.map((p) => p.entryKey), keys, 'one problem per entry, in key order');
    assert.ok(most > 1 && most <= 16, `${most} reads at once`);
  });

  it('a manifest directory that is not a source name is refused, not skipped', async () => {
    const { dir } = storeWithBadEntry();
    fs.mkdirSync(path.join(dir, 'manifest', '-x'));
    fs.writeFileSync(path.join(dir, 'manifest', '-x', 'e.json'), '{}');
    await assert.rejects(listSources(openStore(`file://${dir}`)), (err: unknown) =>
      err instanceof ArchiverError && err.code === 'EFORMAT' && /manifest\/-x\/e\.json is not under a source name/.test(err.message));
  });
});
