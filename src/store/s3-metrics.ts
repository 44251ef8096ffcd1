/**
 * In-process counters of one S3 store: requests per operation, retries per reason, part outcomes, and the last
 * backoff delays. Plain numbers, so the operator can export them (prom-client) and tests can assert them.
 */

export interface BackoffRecord {
  operation: string;
  key: string;
  /** The retry this delay preceded: 1 for the first retry. */
  retry: number;
  capMs: number;
  delayMs: number;
  reason: string;
}

const KEEP_BACKOFFS = 256;

export class S3Metrics {
  /** Every request sent, by S3 operation (PutObject, UploadPart, ...), retries included. */
  readonly attempts: Record<string, number> = {};
  /** Retries, by reason (SlowDown, ECONNRESET, timeout, HTTP 503, ...). */
  readonly retries: Record<string, number> = {};
  /** Requests that failed for good, by error code (ESTORE, ESTOREUNAVAILABLE, ECONFLICT, ...). */
  readonly failures: Record<string, number> = {};
  partsUploaded = 0;
  /** Parts of a resumed upload already on the server with the right bytes. */
  partsSkipped = 0;
  /** Parts of a resumed upload whose bytes on the server differed, uploaded again. */
  partsReuploaded = 0;
  bytesUploaded = 0;
  uploadsResumed = 0;
  uploadsAborted = 0;
  /** The most recent backoff delays, oldest first. */
  readonly backoffs: BackoffRecord[] = [];

  attempt(operation: string): void {
    this.attempts[operation] = (this.attempts[operation] ?? 0) + 1;
  }

  retry(record: BackoffRecord): void {
    this.retries[record.reason] = (this.retries[record.reason] ?? 0) + 1;
    this.backoffs.push(record);
    if (this.backoffs.length > KEEP_BACKOFFS) this.backoffs.shift();
  }

  failure(code: string): void {
    this.failures[code] = (this.failures[code] ?? 0) + 1;
  }

  totalRetries(): number {
    return Object.values(this.retries).reduce((a, b) => a + b, 0);
  }

  totalAttempts(): number {
    return Object.values(this.attempts).reduce((a, b) => a + b, 0);
  }
}
