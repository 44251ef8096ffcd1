/**
 * MigrationParity for a policy with spec.migration: each archive Job compares the newest rotation cycles with the
 * legacy pipeline and reports it (RunReport.parity); the condition and status.migrationVerifiedCycles follow the
 * newest such report of every source. The Job counts the cycles from the store itself, so nothing is accumulated
 * here: a restarted controller, or Jobs removed by their TTL, lose nothing (the previous condition then stays).
 */
import { type ParityFacts, type ConditionContext, CONDITION, migrationParityCondition, setCondition } from '../api/conditions.ts';
import { PARITY_CYCLES_TO_SWITCH } from '../api/migration.ts';
import type { BinlogArchivePolicyStatus, Condition } from '../api/types.ts';
import type { JobView } from './jobs.ts';

/** The newest succeeded Job's parity report of each source that has one. */
export function parityFacts(sources: readonly { server: string; jobs: readonly JobView[] }[]): ParityFacts[] {
  return sources.flatMap(({ server, jobs }) => {
    const job = jobs.filter((j) => j.phase === 'Succeeded' && j.report?.parity !== undefined).sort((a, b) => a.created - b.created).at(-1);
    const p = job?.report?.parity;
    if (p === undefined) return [];
    return [{ server, ok: p.ok, consecutiveMatchingCycles: p.consecutiveMatchingCycles, detail: p.detail, error: p.error === null ? null : `${p.error.code}: ${p.error.message}` }];
  });
}

/** The conditions with MigrationParity set (spec.migration) or removed (no migration), and the verified cycles. */
export function migrationParity(
  enabled: boolean, sources: readonly { server: string; jobs: readonly JobView[] }[], conditions: Condition[],
  previous: BinlogArchivePolicyStatus | undefined, ctx: ConditionContext,
): { conditions: Condition[]; verifiedCycles?: number } {
  if (!enabled) return { conditions: conditions.filter((c) => c.type !== CONDITION.MigrationParity) };
  const checks = parityFacts(sources);
  const kept = previous?.migrationVerifiedCycles;
  if (checks.length === 0 && conditions.some((c) => c.type === CONDITION.MigrationParity)) {
    return { conditions, ...(kept === undefined ? {} : { verifiedCycles: kept }) };
  }
  const next = setCondition(conditions, migrationParityCondition(checks, sources.length, PARITY_CYCLES_TO_SWITCH, ctx));
  const usable = checks.filter((c) => c.error === null);
  if (usable.length === 0 || usable.length < sources.length) return { conditions: next, ...(kept === undefined ? {} : { verifiedCycles: kept }) };
  return { conditions: next, verifiedCycles: Math.min(...usable.map((c) => c.consecutiveMatchingCycles)) };
}
