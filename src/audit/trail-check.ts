// The store's trail checked as `airlock audit verify` and the console's "Verify" check it, and said the same way
// by both: the hash chain first, then the signed checkpoints the store keeps and the newest checkpoint each
// witness file holds (a shorter trail is a removed tail, another head a fork). And an export that ends with the
// signed checkpoints, one made at once so it covers the whole trail, verifiable offline with the public key.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { WitnessConfig } from '../config/audit-schema.js';
import type { Store } from '../store/store.js';
import type { ChainAnchor } from './chain.js';
import type { ChainVerdict } from './chain-verifier.js';
import type { CheckpointVerdict } from './checkpoint-check.js';
import { CheckpointCheck } from './checkpoint-check.js';
import { checkpointNotes, checkpointTrailer, checkStoreLeaves, treeExtend, type Checkpointer } from './checkpoints.js';
import { DEFAULT_STORE_TUNING, verifyStoreWith, type LeafSink, type StoreVerifyTuning } from './store-verify.js';
import { endLine } from './export-line.js';
import type { NoteVerifier } from './signed-note.js';
import type { EndVerdict } from './verify-export.js';
import { latestWitnessed } from './witness.js';

/** The chain's verdict, and the checkpoints' (null when the chain failed: nothing more is worth saying). */
export interface TrailVerdict {
  readonly chain: ChainVerdict;
  readonly checkpoints: CheckpointVerdict | null;
  /** Witnessed checkpoints that were checked with the store's. */
  readonly witnessed: number;
  /** Witness files named that do not exist. */
  readonly missing: readonly string[];
  /** Reads of the trail: 1 when the checkpoints were checked on the leaf hashes the chain check accepted, 2 when read again. */
  readonly passes: 1 | 2;
}

/** One line of a report: what holds, what is only worth a warning, what failed. */
export interface ReportLine {
  readonly kind: 'ok' | 'warn' | 'error';
  readonly text: string;
}

/** The workspace's file witnesses (`audit.witnesses`): the newest checkpoint note of each, and those that do not exist. */
export interface WitnessFiles {
  readonly notes: readonly string[];
  /** Files named that do not exist (yet: no checkpoint was sent; or gone): not checked, and said so. */
  readonly missing: readonly string[];
}

export async function witnessFileNotes(workspaceDir: string, witnesses: readonly WitnessConfig[]): Promise<WitnessFiles> {
  const notes: string[] = [];
  const missing: string[] = [];
  for (const w of witnesses) {
    if (!('file' in w)) continue;
    const file = path.resolve(workspaceDir, w.file);
    if (existsSync(file)) notes.push((await latestWitnessed(file)).note);
    else missing.push(w.file);
  }
  return { notes, missing };
}

/**
 * Verifies the store's chain, then (if it holds) its signed checkpoints under `verifier` and the `witnessed` notes.
 * One pass where it can: the leaf hashes of the rows the chain check accepts feed the checkpoints' tree as they
 * come; where they cannot all come that way (a short trail, a store without verifier threads, rows rebuilt as
 * records), the checkpoints are checked on a second read of the leaf hashes. Either way the same verdict.
 */
export async function verifyTrail(
  store: Store,
  verifier: NoteVerifier,
  witnessed: readonly string[],
  missing: readonly string[] = [],
  tuning: StoreVerifyTuning = DEFAULT_STORE_TUNING,
): Promise<TrailVerdict> {
  const notes = await checkpointNotes(store, witnessed);
  const check = new CheckpointCheck(verifier, notes, treeExtend());
  let whole = true;
  let fed = 0;
  const sink: LeafSink = {
    push: (leaves) => {
      if (!whole) return;
      check.push(leaves);
      fed += leaves.length / 32;
    },
    spoil: () => {
      whole = false;
    },
  };
  const chain = await verifyStoreWith(store, {}, tuning, sink);
  if (!chain.ok) return { chain, checkpoints: null, witnessed: witnessed.length, missing, passes: 1 };
  const onePass = whole && fed === chain.count;
  const checkpoints = onePass ? check.finish(false) : await checkStoreLeaves(store, new CheckpointCheck(verifier, notes, treeExtend()));
  return { chain, checkpoints, witnessed: witnessed.length, missing, passes: onePass ? 1 : 2 };
}

/** What a verdict says, line by line; `ok` false when anything failed (exit 1 on the CLI, 409 in the console). */
export function trailReport(v: TrailVerdict): { readonly ok: boolean; readonly lines: readonly ReportLine[] } {
  const lines = chainLines(v.chain);
  if (!v.chain.ok) return { ok: false, lines };
  const k = v.checkpoints;
  if (k === null) return { ok: true, lines };
  for (const f of v.missing) lines.push({ kind: 'warn', text: `the witness file \`${f}\` does not exist: not checked (no checkpoint was sent to it yet, or it was removed)` });
  if (!k.ok && k.problem === 'none' && v.witnessed === 0) {
    lines.push({ kind: 'warn', text: 'no signed checkpoint yet: one is made every `audit.checkpoints.every` records, or now with `airlock audit checkpoint`' });
    return { ok: true, lines };
  }
  lines.push(...checkpointLines(k));
  return { ok: k.ok, lines };
}

/** What a chain verdict says (the store's, or an export's). */
export function chainLines(c: ChainVerdict): ReportLine[] {
  if (!c.ok) return [{ kind: 'error', text: `FAILED at record #${c.seq}: ${c.problem}: ${c.message}` }];
  return [{ kind: 'ok', text: `ok: ${c.count} audit records verified; head #${c.head?.seq ?? 0} ${c.head?.chainHash ?? '(empty)'}` }];
}

/** What a checkpoint verdict says (the store's, or an export's). */
export function checkpointLines(k: CheckpointVerdict): ReportLine[] {
  if (!k.ok) return [{ kind: 'error', text: `FAILED checkpoints (${k.problem}): ${k.message}` }];
  const latest = k.latest ? `the latest of ${k.latest.size} records made ${k.latest.time}` : 'none yet';
  const lines: ReportLine[] = [{ kind: 'ok', text: `ok: ${k.checked} signed checkpoints hold (${latest})${k.uncovered > 0 ? `; ${k.uncovered} newer records not yet in one` : ''}` }];
  if (k.witnessed) lines.push({ kind: 'ok', text: `ok: consistent with the witnessed checkpoint of ${k.witnessed.size} records (made ${k.witnessed.time})` });
  return lines;
}

/** What an export's payload lines came to: how many were checked, and how many keyed ones could not be without the audit key. */
export function payloadLines(p: { readonly verified: number; readonly unverifiable: number }): ReportLine[] {
  const lines: ReportLine[] = [];
  if (p.verified > 0) lines.push({ kind: 'ok', text: `ok: ${p.verified} payloads match their hashes` });
  if (p.unverifiable > 0) lines.push({ kind: 'warn', text: `${p.unverifiable} keyed payloads (confidential data) not checked: pass --audit-key with the workspace's .airlock/audit.key` });
  return lines;
}

/** What an export's signed end says (`verify --export --key`). */
export function endLines(v: EndVerdict): ReportLine[] {
  if (!v.ok) return [{ kind: 'error', text: `FAILED end: ${v.message}` }];
  return [{ kind: 'ok', text: `ok: the export ends where it was made: its signed end names records ${v.end.first} to ${v.end.last} (exported ${v.end.time})` }];
}

/**
 * Export options that end the export with its signed checkpoints, after making one now (so the last covers
 * every record exported), and then its signed end (export-end.ts): what `verify --export --key` needs to see a cut.
 */
export async function checkpointedExport(store: Store, checkpointer: Checkpointer): Promise<{ readonly trailer: (head: ChainAnchor | null, start: ChainAnchor | null) => Promise<string> }> {
  await checkpointer.checkpoint();
  return { trailer: async (head, start) => `${await checkpointTrailer(store, head)}${endLine(checkpointer.exportEnd(start, head))}` };
}
