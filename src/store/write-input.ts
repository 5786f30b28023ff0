// What every store backend does to a write before it is queued (pure): audit drafts canonicalised, a run's state
// and steps serialised (and sealed), so a value that cannot be stored fails only its own caller; and the records a
// caller appended, put together from its leaves and the seqs and hashes its commit gave them.
import { AUDIT_SCHEMA_VERSION, prepareLeaf, type PreparedLeaf } from '../audit/chain.js';
import { AirlockError } from '../errors.js';
import { sealRunState, type PayloadSealing } from './sealed-payloads.js';
import type { AuditDraft, AuditRecord, RunRecord, RunStep } from './store.js';
import type { RunColumns, SealedHashes } from './sqlite-write-ops.js';

/** Draft `i` canonicalised; an `input` error naming it when it has no canonical JSON form. */
export function prepareDraft(d: AuditDraft, i: number): PreparedLeaf {
  try {
    return prepareLeaf(d);
  } catch (e) {
    throw new AirlockError('input', `audit draft ${i} (\`${String(d.type)}\`) cannot be recorded: ${(e as Error).message}`, {
      hint: 'audit records hold JSON only: strings, finite numbers, booleans, null, arrays and plain objects',
      location: { path: `drafts[${i}]` },
      cause: e,
    });
  }
}

/** A step's item as stored (JSON text); an `input` error naming the run when it has none. */
export function serialiseStep(runId: string, step: RunStep): string {
  const text = JSON.stringify(step.item);
  if (text === undefined || !Number.isSafeInteger(step.n) || step.n < 1) throw new AirlockError('input', `step ${String(step.n)} of run \`${runId}\` cannot be stored`);
  return text;
}

/** A run's columns, its state serialised (an `input` error naming the run when it has no JSON form). */
export function runColumns(run: RunRecord, sealing: PayloadSealing | undefined): RunColumns {
  let text: string | undefined;
  try {
    text = JSON.stringify(run.state);
  } catch (e) {
    throw new AirlockError('input', `the state of run \`${run.id}\` cannot be stored: ${(e as Error).message}`, {
      hint: 'run state holds JSON only (bounded in depth); bound or refuse untrusted values before saving them',
      cause: e,
    });
  }
  if (text === undefined) throw new AirlockError('input', `the state of run \`${run.id}\` has no JSON form`);
  const state = typeof run.state === 'object' && run.state !== null && !Array.isArray(run.state) ? (run.state as Record<string, unknown>) : {};
  return { id: run.id, workflow: run.workflow, status: run.status, version: run.version, createdAt: run.createdAt, updatedAt: run.updatedAt, stateText: sealRunState(run.id, state, text, sealing) };
}

/** The records a caller appended: its own leaves, with the seq and hashes the commit gave them. */
export function appendedRecords(leaves: readonly PreparedLeaf[], sealed: readonly SealedHashes[]): AuditRecord[] {
  return leaves.map((leaf, i) => {
    const s = sealed[i] as SealedHashes;
    return {
      seq: s.seq,
      schemaVersion: AUDIT_SCHEMA_VERSION,
      type: leaf.type,
      time: leaf.time,
      runId: leaf.runId,
      principal: leaf.principal,
      onBehalfOf: leaf.onBehalfOf,
      body: leaf.body,
      prevHash: s.prevHash,
      leafHash: s.leafHash,
      chainHash: s.chainHash,
    };
  });
}
