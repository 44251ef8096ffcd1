/** Correlation ids (one per binlog, from discovery on) and batch ids (one per archive run, one DEK each). */
import { randomUUID } from 'node:crypto';

export function newCorrelationId(): string {
  return `bl-${randomUUID()}`;
}

export function newBatchId(now: Date): string {
  return `batch-${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`;
}
