/**
 * The per-binlog state machine of the archive pipeline. Every binlog carries its correlation id through
 * these stages; an illegal transition is a bug and fails loudly. Only `manifested` means archived.
 *
 *   discovered -> checked -> encoding -> stored -> manifested
 *                   |          (one read: inspect every event, compress, encrypt, verify every frame, upload;
 *                   |           nothing is visible until stored)
 *                   +-> skipped   (already archived with identical content)
 *                   +-> adopting -> stored   (an earlier run stored the object but died before its entry)
 *   encoding, adopting, stored -> skipped   (another run archived the same content meanwhile)
 *   any stage -> failed
 */
import { ArchiverError } from '../errors.ts';
import type { Logger } from '../logger.ts';

export type Stage = 'discovered' | 'checked' | 'encoding' | 'adopting' | 'stored' | 'manifested' | 'skipped' | 'failed';

const NEXT: Readonly<Record<Stage, readonly Stage[]>> = {
  discovered: ['checked', 'failed'],
  checked: ['encoding', 'adopting', 'skipped', 'failed'],
  // -> skipped: another run archived the same content meanwhile (concurrent-run.ts).
  encoding: ['stored', 'skipped', 'failed'],
  adopting: ['stored', 'skipped', 'failed'],
  stored: ['manifested', 'skipped', 'failed'],
  manifested: [],
  skipped: [],
  failed: [],
};

export class BinlogRun {
  readonly correlationId: string;
  readonly binlog: string;
  readonly history: { stage: Stage; at: string }[] = [];
  #stage: Stage = 'discovered';
  readonly #logger: Logger;
  readonly #clock: () => Date;

  constructor(options: { correlationId: string; binlog: string; logger: Logger; clock: () => Date }) {
    this.correlationId = options.correlationId;
    this.binlog = options.binlog;
    this.#clock = options.clock;
    this.#logger = options.logger.child({ correlationId: options.correlationId, binlog: options.binlog });
    this.history.push({ stage: 'discovered', at: this.#clock().toISOString() });
  }

  get stage(): Stage {
    return this.#stage;
  }

  get logger(): Logger {
    return this.#logger;
  }

  advance(to: Stage, fields: Record<string, unknown> = {}): void {
    if (!NEXT[this.#stage].includes(to)) {
      throw new ArchiverError('EINTERNAL', `binlog ${this.binlog}: illegal pipeline transition ${this.#stage} -> ${to}`);
    }
    this.#stage = to;
    this.history.push({ stage: to, at: this.#clock().toISOString() });
    this.#logger.log(to === 'failed' ? 'error' : 'debug', `Binlog ${to}`, { stage: to, ...fields });
  }
}
