/**
 * The one time grammar (src/time.ts): what it accepts and the instant it means, what it refuses and why, the
 * CRD's pattern agreeing with it, and `restore --until` exiting 2 on a refused time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restoreSpec } from '../../src/api/restore-spec.ts';
import { ArchiverError } from '../../src/errors.ts';
import { ZONED_TIME_PATTERN, parseTime } from '../../src/time.ts';
import { runCli } from '../support/cli.ts';

const ACCEPTED: [string, string][] = [
  ['2018-10-17 08:09:51', '2018-10-17T08:09:51.000Z'],
  ['2018-10-17T08:09:51', '2018-10-17T08:09:51.000Z'],
  ['2018-10-17T08:09:51Z', '2018-10-17T08:09:51.000Z'],
  ['2018-10-17 08:09:51Z', '2018-10-17T08:09:51.000Z'],
  ['2018-10-17T08:09:51+02:00', '2018-10-17T06:09:51.000Z'],
  ['2018-10-17T08:09:51-05:30', '2018-10-17T13:39:51.000Z'],
  ['2018-10-17T00:30:00+01:00', '2018-10-16T23:30:00.000Z'],
  ['2018-12-31T23:59:59-23:59', '2019-01-01T23:58:59.000Z'],
  ['2018-10-17T08:09:51.5Z', '2018-10-17T08:09:51.500Z'],
  ['2018-10-17T08:09:51.123456789Z', '2018-10-17T08:09:51.123Z'],
  // Truncated, not rounded: .9999 stays in second 51 (binlog timestamps are whole seconds).
  ['2018-10-17T08:09:51.9999Z', '2018-10-17T08:09:51.999Z'],
  ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000Z'],
  ['2000-02-29 00:00:00', '2000-02-29T00:00:00.000Z'],
  ['2018-04-30T00:00:00Z', '2018-04-30T00:00:00.000Z'],
  ['0050-01-01T00:00:00Z', '0050-01-01T00:00:00.000Z'],
];

const REFUSED: [string, RegExp][] = [
  ['Oct 17 2018 08:09:51', /is not a time of the accepted form/],
  ['2018-02-30', /is not a time of the accepted form/],
  ['2018-02-30 00:00:00', /has day 30, but 2018-02 has 28 days/],
  ['2018-02-29T00:00:00Z', /has day 29, but 2018-02 has 28 days/],
  ['1900-02-29T00:00:00Z', /has day 29, but 1900-02 has 28 days/],
  ['2018-04-31T00:00:00Z', /has day 31, but 2018-04 has 30 days/],
  ['2018-00-10T00:00:00Z', /has month 00/],
  ['2018-13-10T00:00:00Z', /has month 13/],
  ['2018-01-00T00:00:00Z', /has day 00/],
  ['2018-01-01T24:00:00Z', /has hour 24/],
  ['2018-01-01T23:60:00Z', /has minute 60/],
  ['2018-06-30T23:59:60Z', /has second 60/],
  ['2018-01-01T00:00:00+24:00', /beyond ±23:59/],
  ['2018-01-01T00:00:00+01:60', /minute 60/],
  ['2018-01-01 08:09', /is not a time of the accepted form/],
  ['2018-01-01T08:09:51+0200', /is not a time of the accepted form/],
  ['2018-01-01t08:09:51z', /is not a time of the accepted form/],
  ['2018-01-01T08:09:51.Z', /is not a time of the accepted form/],
  ['2018-01-01T08:09:51.1234567890Z', /is not a time of the accepted form/],
  ['2018-01-01T08:09:51 UTC', /is not a time of the accepted form/],
  [' 2018-01-01T08:09:51Z', /is not a time of the accepted form/],
  ['1539763791', /is not a time of the accepted form/],
  ['', /is not a time of the accepted form/],
];

describe('user-given times', () => {
  for (const [text, iso] of ACCEPTED) {
    it(`accepts ${JSON.stringify(text)} as ${iso}`, () => {
      assert.equal(parseTime(text, '--until').toISOString(), iso);
    });
  }

  for (const [text, why] of REFUSED) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseTime(text, '--until'), (err: unknown) => {
        assert.ok(err instanceof ArchiverError);
        assert.equal(err.code, 'EUSAGE');
        assert.match(err.message, why);
        assert.match(err.message, /^--until /);
        assert.match(err.hint ?? '', /e\.g\. 2026-11-21T10:15:00Z/);
        return true;
      });
    });
  }

  it('the CRD pattern for spec.target.time accepts exactly the zoned T-form of what the parser accepts', () => {
    const json = restoreSpec.json.properties?.target?.properties?.time;
    assert.equal(json?.pattern, ZONED_TIME_PATTERN);
    assert.equal(json?.format, 'date-time');
    const pattern = new RegExp(ZONED_TIME_PATTERN);
    const zoned = (t: string): boolean => /T.*(Z|[+-]\d\d:\d\d)$/.test(t);
    for (const [text] of ACCEPTED) assert.equal(pattern.test(text), zoned(text), text);
    // The day of the month is left to format: date-time; everything else the parser refuses, the pattern refuses.
    for (const [text, why] of REFUSED) if (!/has day/.test(why.source)) assert.equal(pattern.test(text), false, text);
  });

  it('restore --until with a refused time exits 2 before touching the store, naming the form', async () => {
    for (const until of ['Oct 17 2018 08:09:51', '2018-02-30 00:00:00']) {
      const r = await runCli(['restore', '--store', 'file:///nonexistent/store', '--key', 'file:///nonexistent/key', '--out', '/nonexistent/out', '--until', until]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /error EUSAGE: --until /);
      assert.match(r.stderr, /YYYY-MM-DD\[T\| \]HH:MM:SS\[\.fraction\]\[Z\|±HH:MM\]/);
    }
  });
});
