/**
 * Writes a restored binlog into its staged file (restore-file.ts opens and renames it): in pieces of at most
 * 1 MiB, resuming short writes, and flushing to disk as it goes, so that the fsync before the rename waits only
 * for the last few megabytes instead of the whole file.
 */
import type fs from 'node:fs';
import { ArchiverError } from '../errors.ts';

/**
 * Bytes per write(2). Measured on ext4 (docs/PERFORMANCE.md §8.1): a decoded 4 MiB frame written at once cost
 * the kernel 4-6× the CPU of the same bytes written 1 MiB at a time (copying into the page cache) in about half
 * the runs; 1 MiB writes never did, and smaller ones only add system calls.
 */
const WRITE_PIECE = 1 << 20;
/** A background fdatasync is started after this many bytes were written since the last one began. */
const SYNC_EVERY = 32 << 20;

export class StagedFileWriter {
  readonly #file: fs.promises.FileHandle;
  #unsynced = 0;
  #syncing: Promise<void> | null = null;
  #failed: Error | null = null;

  constructor(file: fs.promises.FileHandle) {
    this.#file = file;
  }

  /** Appends `chunk` at the file's position; throws a background flush's error, if one failed. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#failed !== null) throw this.#failed;
    for (let at = 0; at < chunk.length;) {
      const { bytesWritten } = await this.#file.write(chunk, at, Math.min(WRITE_PIECE, chunk.length - at));
      if (bytesWritten <= 0) throw new ArchiverError('EBADINPUT', `a write wrote nothing (${chunk.length - at} bytes left)`);
      at += bytesWritten;
    }
    this.#unsynced += chunk.length;
    if (this.#unsynced >= SYNC_EVERY && this.#syncing === null) {
      this.#unsynced = 0;
      // Runs on libuv's thread pool while decoding goes on; its error is reported by the next write or by sync.
      this.#syncing = this.#file.datasync().then(
        () => {
          this.#syncing = null;
        },
        (err: unknown) => {
          this.#syncing = null;
          this.#failed ??= err instanceof Error ? err : new Error(String(err));
        },
      );
    }
  }

  /** Everything written is on disk once this resolves (fsync: data and metadata). */
  async sync(): Promise<void> {
    await this.#syncing;
    if (this.#failed !== null) throw this.#failed;
    await this.#file.sync();
  }

  /** Waits for a background flush to end, so a failed restore closes and removes the file only after it. */
  async settle(): Promise<void> {
    await this.#syncing;
  }
}
