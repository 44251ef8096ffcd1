/**
 * The fuzzers' mutator: a seeded PRNG (one per case, derived from the run's seed and the case number, so any
 * case is replayed exactly by its seed and number) and byte-level mutations of a buffer, optionally guided by
 * its structure (record boundaries and length fields) and by donor buffers to splice from.
 */

/** mulberry32: tiny, fast, and the same sequence on every platform for a given 32-bit seed. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in 0..n-1 (0 when n <= 0). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

/** The seed of case `index` of a run: a hash of both, so neighbouring cases are unrelated. */
export function caseSeed(runSeed: number, target: string, index: number): number {
  let h = (runSeed ^ 0x9e3779b9) >>> 0;
  for (const c of `${target}:${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return new Rng(h).next();
}

/** A length or position field inside the buffer, which a mutation may set to a boundary value. */
export interface LengthField {
  at: number;
  width: 2 | 4;
  littleEndian: boolean;
}

/** What a mutator knows of the buffer's structure: record starts and their length fields. */
export interface Shape {
  boundaries: number[];
  lengthFields: LengthField[];
}

export const NO_SHAPE: Shape = { boundaries: [], lengthFields: [] };

const BOUNDARY_BYTES = [0x00, 0xff, 0x7f, 0x80] as const;

type Mutator = (buf: Buffer, rng: Rng, shape: Shape, donors: readonly Buffer[]) => { bytes: Buffer; step: string };

/** A position: often a record boundary (plus or minus a little), else anywhere. */
function position(buf: Buffer, rng: Rng, shape: Shape): number {
  if (shape.boundaries.length > 0 && rng.chance(0.5)) {
    const b = rng.pick(shape.boundaries) + rng.pick([0, 0, 0, 1, -1, 4, 9, 13, 19]);
    return Math.max(0, Math.min(buf.length, b));
  }
  return rng.int(buf.length + 1);
}

function fieldValue(rng: Rng, width: 2 | 4, current: number): number {
  const max = width === 2 ? 0xffff : 0xffffffff;
  const half = width === 2 ? 0x8000 : 0x80000000;
  const values = [0, 1, 18, 19, 20, current - 1, current + 1, current * 2, half - 1, half, max, rng.next() & max];
  return Math.max(0, Math.min(max, rng.pick(values))) >>> 0;
}

const mutators: Record<string, Mutator> = {
  flip(buf, rng) {
    const out = Buffer.from(buf);
    const n = 1 + rng.int(8);
    const at: number[] = [];
    for (let i = 0; i < n && out.length > 0; i++) {
      const p = rng.int(out.length);
      out[p] = (out[p] as number) ^ (1 << rng.int(8));
      at.push(p);
    }
    return { bytes: out, step: `flip bits at ${at.join(',')}` };
  },
  boundary(buf, rng, shape) {
    const out = Buffer.from(buf);
    if (out.length === 0) return { bytes: out, step: 'boundary (empty)' };
    const p = Math.min(position(buf, rng, shape), out.length - 1);
    const v = rng.pick(BOUNDARY_BYTES);
    const run = rng.pick([1, 1, 2, 4]);
    for (let i = p; i < Math.min(out.length, p + run); i++) out[i] = v;
    return { bytes: out, step: `set ${run} byte(s) at ${p} to 0x${v.toString(16)}` };
  },
  truncate(buf, rng, shape) {
    const p = Math.min(position(buf, rng, shape), Math.max(0, buf.length - 1));
    return { bytes: Buffer.from(buf.subarray(0, p)), step: `truncate to ${p} bytes` };
  },
  insert(buf, rng, shape) {
    const p = position(buf, rng, shape);
    const n = 1 + rng.int(32);
    const fill = rng.chance(0.5) ? rng.bytes(n) : Buffer.alloc(n, rng.pick(BOUNDARY_BYTES));
    return { bytes: Buffer.concat([buf.subarray(0, p), fill, buf.subarray(p)]), step: `insert ${n} bytes at ${p}` };
  },
  remove(buf, rng, shape) {
    const p = position(buf, rng, shape);
    const n = 1 + rng.int(64);
    return { bytes: Buffer.concat([buf.subarray(0, p), buf.subarray(p + n)]), step: `remove ${n} bytes at ${p}` };
  },
  lengthField(buf, rng, shape) {
    const fields = shape.lengthFields.filter((f) => f.at + f.width <= buf.length);
    if (fields.length === 0) return mutators.boundary!(buf, rng, shape, []);
    const f = rng.pick(fields);
    const out = Buffer.from(buf);
    const current = f.width === 2 ? (f.littleEndian ? out.readUInt16LE(f.at) : out.readUInt16BE(f.at)) : f.littleEndian ? out.readUInt32LE(f.at) : out.readUInt32BE(f.at);
    const v = fieldValue(rng, f.width, current);
    if (f.width === 2 && f.littleEndian) out.writeUInt16LE(v, f.at);
    else if (f.width === 2) out.writeUInt16BE(v, f.at);
    else if (f.littleEndian) out.writeUInt32LE(v, f.at);
    else out.writeUInt32BE(v, f.at);
    return { bytes: out, step: `set the ${f.width}-byte field at ${f.at} from ${current} to ${v}` };
  },
  duplicate(buf, rng, shape) {
    const { start, end } = chunkOf(buf, rng, shape);
    const p = position(buf, rng, shape);
    return { bytes: Buffer.concat([buf.subarray(0, p), buf.subarray(start, end), buf.subarray(p)]), step: `duplicate bytes ${start}..${end} at ${p}` };
  },
  splice(buf, rng, shape, donors) {
    if (donors.length === 0) return mutators.duplicate!(buf, rng, shape, donors);
    const d = rng.int(donors.length);
    const donor = donors[d] as Buffer;
    const start = rng.int(donor.length);
    const end = Math.min(donor.length, start + 1 + rng.int(512));
    const p = position(buf, rng, shape);
    const replace = rng.chance(0.5) ? end - start : 0;
    return {
      bytes: Buffer.concat([buf.subarray(0, p), donor.subarray(start, end), buf.subarray(p + replace)]),
      step: `splice donor ${d} bytes ${start}..${end} at ${p}${replace > 0 ? ' (replacing)' : ''}`,
    };
  },
};

/** A record (between two boundaries) when the shape knows them, else a random range. */
function chunkOf(buf: Buffer, rng: Rng, shape: Shape): { start: number; end: number } {
  const b = [...shape.boundaries, buf.length].filter((x) => x <= buf.length).sort((x, y) => x - y);
  if (b.length >= 2 && rng.chance(0.7)) {
    const i = rng.int(b.length - 1);
    return { start: b[i] as number, end: b[i + 1] as number };
  }
  const start = rng.int(buf.length);
  return { start, end: Math.min(buf.length, start + 1 + rng.int(256)) };
}

export const MUTATIONS = Object.keys(mutators);

/**
 * Applies 1..3 random mutations (one in most cases). Returns the mutated copy and one line per step; the input
 * is never modified.
 */
export function mutate(input: Buffer, rng: Rng, shape: Shape = NO_SHAPE, donors: readonly Buffer[] = []): { bytes: Buffer; steps: string[] } {
  let bytes = input;
  const steps: string[] = [];
  const n = rng.pick([1, 1, 1, 2, 3]);
  for (let i = 0; i < n; i++) {
    const name = rng.pick(MUTATIONS);
    // After a first step the offsets of `shape` may be stale; they are still plausible positions to hit.
    const r = mutators[name]!(bytes, rng, shape, donors);
    bytes = r.bytes;
    steps.push(`${name}: ${r.step}`);
  }
  return { bytes, steps };
}
