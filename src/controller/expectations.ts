/**
 * Objects created but not yet seen in the informer (client-go's "expectations"): until the watch delivers a
 * created Job, the next reconcile must still count it as running, or an event in between could create a second
 * one. An expectation lapses when the object is seen, or after `timeoutMs` (a lost watch event must not block
 * forever).
 */
export type Expectation = 'none' | 'waiting' | 'seen';

export class Expectations {
  readonly #pending = new Map<string, { name: string; at: number }>();
  readonly #timeoutMs: number;

  constructor(timeoutMs = 30_000) {
    this.#timeoutMs = timeoutMs;
  }

  /** `name` was created for `key` at `now`. */
  expect(key: string, name: string, now: number): void {
    this.#pending.set(key, { name, at: now });
  }

  /**
   * What is expected for `key` given the names the informer shows: 'waiting' while the created object is unseen
   * (and not timed out); 'seen' once it shows up (the expectation is then dropped) with its name; 'none' otherwise.
   */
  check(key: string, seen: readonly string[], now: number): { state: Expectation; name?: string } {
    const e = this.#pending.get(key);
    if (e === undefined) return { state: 'none' };
    if (!seen.includes(e.name) && now - e.at < this.#timeoutMs) return { state: 'waiting', name: e.name };
    this.#pending.delete(key);
    return seen.includes(e.name) ? { state: 'seen', name: e.name } : { state: 'none' };
  }

  forget(key: string): void {
    this.#pending.delete(key);
  }
}
