/**
 * CRC32 (the zlib / ISO-HDLC polynomial binlog events use) over a byte range, without allocating a view per call.
 *
 * zlib's native crc32 is fast per byte but costs ~100 ns per call (argument checks, the crossing into C++, and the
 * subarray it needs); most binlog events are 30–250 bytes, where that overhead dominates. Ranges shorter than
 * NATIVE_MIN are summed here with slice-by-16 tables, longer ones by zlib.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';

/** Measured crossover on x86-64 (Node 24): the JS loop runs at ~1.5 GB/s; zlib is faster per byte but costs ~100 ns a call. */
const NATIVE_MIN = 384;

const T = new Int32Array(16 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T[n] as number;
  for (let k = 1; k < 16; k++) {
    c = (T[c & 0xff] as number) ^ (c >>> 8);
    T[k * 256 + n] = c;
  }
}

/** A DataView over the bytes of `b`, for crc32Range (make one per buffer, not per call). */
export function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** CRC32 of b[start, end), continuing from `crc` (0 to start); `dv` is viewOf(b), or null to make one. */
export function crc32Range(b: Uint8Array, dv: DataView | null, start: number, end: number, crc = 0): number {
  if (end - start >= NATIVE_MIN) return zlibCrc32(b.subarray(start, end), crc);
  if (dv === null) dv = viewOf(b);
  let c = ~crc;
  let i = start;
  for (; i + 16 <= end; i += 16) {
    c ^= dv.getInt32(i, true);
    const w1 = dv.getInt32(i + 4, true);
    const w2 = dv.getInt32(i + 8, true);
    const w3 = dv.getInt32(i + 12, true);
    c =
      (T[3840 + (c & 0xff)] as number) ^ (T[3584 + ((c >>> 8) & 0xff)] as number) ^ (T[3328 + ((c >>> 16) & 0xff)] as number) ^ (T[3072 + (c >>> 24)] as number) ^
      (T[2816 + (w1 & 0xff)] as number) ^ (T[2560 + ((w1 >>> 8) & 0xff)] as number) ^ (T[2304 + ((w1 >>> 16) & 0xff)] as number) ^ (T[2048 + (w1 >>> 24)] as number) ^
      (T[1792 + (w2 & 0xff)] as number) ^ (T[1536 + ((w2 >>> 8) & 0xff)] as number) ^ (T[1280 + ((w2 >>> 16) & 0xff)] as number) ^ (T[1024 + (w2 >>> 24)] as number) ^
      (T[768 + (w3 & 0xff)] as number) ^ (T[512 + ((w3 >>> 8) & 0xff)] as number) ^ (T[256 + ((w3 >>> 16) & 0xff)] as number) ^ (T[w3 >>> 24] as number);
  }
  for (; i < end; i++) c = (T[(c ^ (b[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

// ---- Runs of whole events, checked with one native CRC32 (docs/PERFORMANCE.md 4c, 8.1) ----
//
// Every intact event ends in the CRC32 of the bytes before it, so the CRC32 of a whole event is the same constant
// for every event (the residue). The CRC32 of consecutive events is then a function of their lengths alone:
// crc(A B) = crc(A)·x^(8·|B|) mod P  xor  crc(B) (zlib's crc32_combine). One zlib.crc32 over a run compared with
// that value finds exactly what the per-event checks find when at most one event of the run is damaged (the
// multiplication is invertible); with two or more, they could cancel with probability 2^-32. On a mismatch the
// caller checks the run event by event, so the error names the first bad event as before.

/** CRC32 of any intact event: crc(m ‖ le32(crc(m))). Run CRCs are kept as signed 32-bit values (`| 0`). */
export const CRC32_RESIDUE = 0x2144df1c;
const POLY = 0xedb88320;

/** a·b mod P, in zlib's reflected representation (bit 31 = x^0). */
function multmodp(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = (b & 1) !== 0 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p;
}

/** x^(2^k) mod P for k = 0..31. */
const X2N = new Uint32Array(32);
{
  let p = 0x40000000; // x^1
  X2N[0] = p;
  for (let k = 1; k < 32; k++) X2N[k] = p = multmodp(p, p);
}

/** x^(8·n) mod P: the factor that moves a CRC past n more bytes. */
function bytesFactor(n: number): number {
  let p = 0x80000000; // x^0
  for (let k = 3; n > 0; n = Math.floor(n / 2), k++) if (n % 2 === 1) p = multmodp(X2N[k & 31] as number, p);
  return p;
}

/**
 * Per-length tables of c ↦ c·x^(8·len) mod P by nibble (8 × 16 words, 512 bytes: byte tables of 4 KiB each fell out
 * of the cache with the data streaming past), for event lengths below TABLED_LEN (an OLTP binlog of 2.6 million
 * events has ~380 distinct lengths: 190 KiB); longer events, rarer and slower to check anyway, use their factor.
 */
const TABLED_LEN = 1 << 16;
const tables: (Int32Array | undefined)[] = new Array<Int32Array | undefined>(TABLED_LEN).fill(undefined);
const factors = new Map<number, number>();

function tableFor(len: number): Int32Array {
  const k = bytesFactor(len);
  const out = new Int32Array(128);
  for (let j = 0; j < 8; j++) {
    for (let v = 1; v < 16; v++) {
      out[j * 16 + v] = (v & (v - 1)) === 0 ? multmodp(k, (v << (4 * j)) >>> 0) : (out[j * 16 + (v & (v - 1))] as number) ^ (out[j * 16 + (v & -v)] as number);
    }
  }
  tables[len] = out;
  return out;
}

function factorFor(len: number): number {
  let k = factors.get(len);
  if (k === undefined) {
    k = bytesFactor(len);
    if (factors.size < 4096) factors.set(len, k);
  }
  return k;
}

/** The CRC32 (`| 0`) of a run whose CRC32 is `crc`, followed by an intact event of `len` bytes. */
export function crcAppendIntact(crc: number, len: number): number {
  if (len >= TABLED_LEN) return multmodp(factorFor(len), crc) ^ CRC32_RESIDUE;
  const t = tables[len] ?? tableFor(len);
  return (
    (t[crc & 15] as number) ^ (t[16 + ((crc >>> 4) & 15)] as number) ^ (t[32 + ((crc >>> 8) & 15)] as number) ^ (t[48 + ((crc >>> 12) & 15)] as number) ^
    (t[64 + ((crc >>> 16) & 15)] as number) ^ (t[80 + ((crc >>> 20) & 15)] as number) ^ (t[96 + ((crc >>> 24) & 15)] as number) ^ (t[112 + (crc >>> 28)] as number) ^
    CRC32_RESIDUE
  );
}
