import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, parseCanonicalJson } from '../../src/format/canonical-json.ts';

test('members are sorted by UTF-8 bytes, not UTF-16 code units', () => {
  const bytes = canonicalJson({ b: 1, a: 'x', '\u{1F600}': 2, '\uFFFF': 3, é: 4, Z: 5 });
  // UTF-16 order would put U+1F600 (D83D...) before U+FFFF; UTF-8 order (EF BF BF < F0 9F 98 80) does not.
  assert.equal(bytes.toString('utf8'), '{"Z":5,"a":"x","b":1,"é":4,"\uFFFF":3,"\u{1F600}":2}');
});

test('strings are escaped exactly like JSON.stringify; other characters stay raw UTF-8', () => {
  const bytes = canonicalJson({ s: 'q"b\\\b\f\n\r\t\u0001\u001f\u007f\u2028é' });
  assert.equal(bytes.toString('utf8'), '{"s":"q\\"b\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\u007f\u2028é"}');
  assert.ok(bytes.includes(Buffer.from('e280a8c3a9', 'hex')), 'U+2028 and é are raw UTF-8');
});

test('nested objects, integers, no whitespace', () => {
  assert.equal(canonicalJson({ o: { y: 0, x: 9007199254740991 }, e: {} }).toString(), '{"e":{},"o":{"x":9007199254740991,"y":0}}');
});

test('values outside the subset are refused', () => {
  assert.throws(() => canonicalJson({ f: 1.5 }), /non-negative safe integer/);
  assert.throws(() => canonicalJson({ n: -1 }), /non-negative safe integer/);
  assert.throws(() => canonicalJson({ a: [1] as unknown as string }), /string, an integer or an object/);
  assert.throws(() => canonicalJson({ t: true as unknown as string }), /string, an integer or an object/);
  assert.throws(() => canonicalJson({ s: '\ud800' }), /lone surrogate/);
});

test('parse accepts canonical bytes and rejects every non-canonical spelling', () => {
  assert.deepEqual(parseCanonicalJson(Buffer.from('{"a":1,"b":{"c":"d"}}')), { a: 1, b: { c: 'd' } });
  const bad: [string, RegExp][] = [
    ['{"b":1,"a":2}', /canonical/],
    ['{"a": 1}', /canonical/],
    ['{"a":1}\n', /canonical/],
    ['{"a":1,"a":1}', /canonical/],
    ['{"a":"\\u0041"}', /canonical/],
    ['{"a":1.0}', /canonical/],
    ['{"a":1e2}', /canonical/],
    ['{"a":"\\ud800"}', /lone surrogate/],
    ['[1]', /not a JSON object/],
    ['{"a":', /not valid JSON/],
  ];
  for (const [text, pattern] of bad) assert.throws(() => parseCanonicalJson(Buffer.from(text)), pattern, text);
  assert.throws(() => parseCanonicalJson(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), /not valid UTF-8/);
});
