// The evidence bundle a human approver sees for a prepared action: what the run read (cited), why the
// agent wants it, the exact arguments, and each proposed value beside the current one (the contract's
// `preview`). Citation selection and diff rows are pure; `buildEvidence` does the reads around them.
import type { ToolContract, Workspace } from '../../config/schema.js';
import type { AuditRecord, Store } from '../../store/store.js';
import type { ConnectorResult } from '../../tools/connector.js';
import { resolveTemplate, type TemplateScope } from '../../util/template.js';
import type { Json, JsonObject, RunId, Sha256Hex, Trust } from '../../types.js';
import { jsonEqual } from '../../verification/checks.js';
import { isRecord } from '../../audit/records.js';
import { resultTrust } from '../../context/provenance.js';

/** At most this many earlier reads are cited (the newest ones). */
export const MAX_CITATIONS = 10;
/** A citation's excerpt keeps this many characters of the result text. */
export const EXCERPT_CHARS = 400;
/** The agent's stated reason keeps this many characters. */
export const REASONING_CHARS = 1000;

type PreviewSpec = NonNullable<ToolContract['preview']>;

export interface EvidenceDeps {
  readonly store: Store;
  readonly workspace: Workspace;
  /** Calls a declared read tool through its connector (the gateway passes this in); never a side effect. */
  readonly readTool: (contract: ToolContract, args: JsonObject, runId: RunId) => Promise<ConnectorResult>;
}

/** What the evidence is for: the prepared action and the run it belongs to. */
export interface EvidenceInput {
  readonly runId: RunId;
  /** The contract of the action awaiting approval. */
  readonly contract: ToolContract;
  /** The exact arguments the approver is asked to approve. */
  readonly args: JsonObject;
  /** The agent's stated reason, or null when it gave none. */
  readonly reasoning: string | null;
}

/**
 * Builds the evidence bundle (plain JSON: it is hashed and stored in the approval's summary):
 * `{ citations, reasoning, args, diff }`. A failing or unresolvable preview probe becomes
 * `diff: { probe, error }`, never a throw; payloads deleted by retention become nulls.
 */
export async function buildEvidence(deps: EvidenceDeps, input: EvidenceInput): Promise<JsonObject> {
  const records = await deps.store.readAuditForRun(input.runId);
  const sources = selectCitations(records, deps.workspace.tools);
  // INVARIANT: what a search returned under the caller's entitlements is never shown to approvers, who may
  // not hold them: such a citation names what was read (the search), not the chunks' text.
  const retrieved = (tool: string) => deps.workspace.file.connectors[deps.workspace.tools.get(tool)?.connector ?? '']?.kind === 'context';
  const citations = await Promise.all(
    sources.map(async (s, i) => {
      const c = toCitation(i, s, {
        args: s.argsHash === null ? null : await deps.store.getPayload(s.argsHash as Sha256Hex),
        result: retrieved(s.tool) ? null : await deps.store.getPayload(s.resultHash as Sha256Hex),
      });
      return retrieved(s.tool) ? { ...c, excerpt: null, withheld: 'retrieved under the caller\'s entitlements: not shown to approvers, who may not hold them' } : c;
    }),
  );
  const reasoning = input.reasoning?.trim() ? truncate(input.reasoning, REASONING_CHARS) : null;
  return { citations, reasoning, args: input.args, diff: await previewDiff(deps, input.contract, input.args, input.runId) };
}

/** One earlier read to cite, as the audit trail records it (its payloads not yet fetched). */
export interface CitationSource {
  readonly tool: string;
  /** Hash of the arguments payload; null when the intent recorded none. */
  readonly argsHash: string | null;
  readonly resultHash: string;
  readonly trust: Trust;
  /** The injection signals recorded for this read (`context.flagged`), by kind; absent when none. */
  readonly flagged?: readonly string[];
}

/**
 * The run's successful read-tool results worth citing, oldest first, at most `max` (the newest).
 * An `action.executed` record with outcome `ok` and a `resultHash`, of a tool the workspace declares
 * as a read, is cited with the arguments of its `action.intent` (matched by `actionHash`). The same
 * read with the same answer is cited once, where it last happened. A result the caller reported
 * (authorize mode) is the caller's word, so it is cited as untrusted whatever the contract says.
 */
export function selectCitations(
  records: readonly AuditRecord[],
  tools: ReadonlyMap<string, ToolContract>,
  max = MAX_CITATIONS,
): CitationSource[] {
  const argsByAction = new Map<string, string | null>();
  const flaggedByAction = new Map<string, string[]>();
  for (const r of records) {
    if (!isRecord(r, 'context.flagged') || !Array.isArray(r.body.signals)) continue;
    flaggedByAction.set(String(r.body.actionHash), [...new Set(r.body.signals.map((s) => String((s as { kind?: unknown }).kind)))]);
  }
  const picked: CitationSource[] = [];
  for (const r of records) {
    if (isRecord(r, 'action.intent')) {
      if (typeof r.body.actionHash === 'string') argsByAction.set(r.body.actionHash, typeof r.body.argsHash === 'string' ? r.body.argsHash : null);
      continue;
    }
    if (!isRecord(r, 'action.executed')) continue;
    const b = r.body;
    const resultHash = b.resultHash;
    if (b.outcome !== 'ok' || typeof resultHash !== 'string') continue;
    const tool = typeof b.tool === 'string' ? b.tool : '';
    const contract = tools.get(tool);
    if (contract?.effect !== 'read') continue;
    const source: CitationSource = {
      tool,
      argsHash: typeof b.actionHash === 'string' ? (argsByAction.get(b.actionHash) ?? null) : null,
      resultHash,
      trust: b.reportedBy === 'caller' ? 'untrusted' : resultTrust(contract),
      ...(flaggedByAction.has(String(b.actionHash)) ? { flagged: flaggedByAction.get(String(b.actionHash)) } : {}),
    };
    const same = picked.findIndex(
      (p) => p.tool === source.tool && p.argsHash === source.argsHash && p.resultHash === source.resultHash && p.trust === source.trust,
    );
    if (same >= 0) picked.splice(same, 1);
    picked.push(source);
  }
  return picked.slice(-max);
}

/**
 * A citation as the approver sees it: `{ ref: 'C<n>', tool, args, excerpt, resultHash, trust }`,
 * `n` being `index + 1`. `payloads` are the stored texts (canonical JSON); a payload deleted by
 * retention is null, and so is the field made from it.
 */
export function toCitation(
  index: number,
  source: CitationSource,
  payloads: { readonly args: string | null; readonly result: string | null },
): JsonObject {
  return {
    ref: `C${index + 1}`,
    tool: source.tool,
    args: payloads.args === null ? null : parseStored(payloads.args),
    excerpt: payloads.result === null ? null : truncate(textOf(payloads.result), EXCERPT_CHARS),
    resultHash: source.resultHash,
    trust: source.trust,
    ...(source.flagged ? { flagged: [...source.flagged] } : {}),
  };
}

/**
 * The preview's rows: each `{ label, proposed, current, differs }` with the templates resolved in
 * `scope` (`args` and `probe`). A template that finds nothing leaves its side null, `differs` null,
 * and says what was missing in `error`.
 */
export function compareRows(compare: PreviewSpec['compare'], scope: TemplateScope): JsonObject[] {
  return compare.map((row) => {
    const proposed = resolveTemplate(row.proposed, scope);
    const current = resolveTemplate(row.current, scope);
    const missing = [proposed, current].flatMap((r) => (r.ok ? [] : [missingText(r.missing)]));
    return {
      label: row.label,
      proposed: proposed.ok ? proposed.value : null,
      current: current.ok ? current.value : null,
      differs: proposed.ok && current.ok ? !jsonEqual(proposed.value, current.value) : null,
      ...(missing.length > 0 ? { error: missing.join('; ') } : {}),
    };
  });
}

/**
 * The diff from one probe call: `{ probe, args, rows }` when the probe answered, `{ probe, args,
 * error }` when it failed. `probeArgs` are the arguments it was called with.
 */
export function diffFromProbe(spec: PreviewSpec, args: JsonObject, probeArgs: JsonObject, res: ConnectorResult): JsonObject {
  if (!res.ok) return { probe: spec.probe, args: probeArgs, error: `probe \`${spec.probe}\` failed (${res.failure}): ${res.message}` };
  return { probe: spec.probe, args: probeArgs, rows: compareRows(spec.compare, { args, probe: res.content }) };
}

/** Runs the contract's preview probe and compares; null when the contract declares no preview. */
async function previewDiff(deps: EvidenceDeps, contract: ToolContract, args: JsonObject, runId: RunId): Promise<Json> {
  const spec = contract.preview;
  if (!spec) return null;
  const probe = deps.workspace.tools.get(spec.probe);
  // INVARIANT: building evidence never causes a side effect: only a declared read tool is called.
  if (probe?.effect !== 'read') return { probe: spec.probe, error: `preview probe \`${spec.probe}\` is not a declared read tool` };
  const probeArgs = resolveTemplate(spec.args, { args });
  if (!probeArgs.ok) return { probe: spec.probe, error: `probe argument: ${missingText(probeArgs.missing)}` };
  const callArgs = probeArgs.value as JsonObject;
  let res: ConnectorResult;
  try {
    res = await deps.readTool(probe, callArgs, runId);
  } catch (cause) {
    // The diff is advice for the approver: a probe that breaks must not stop the approval request.
    res = { ok: false, failure: 'crash', message: cause instanceof Error ? cause.message : String(cause) };
  }
  return diffFromProbe(spec, args, callArgs, res);
}

function missingText(template: string): string {
  if (template.startsWith('$probe')) return `the probe returned no \`${template}\``;
  if (template.startsWith('$args')) return `the arguments have no \`${template}\``;
  return `\`${template}\` has no value`;
}

/** A stored payload (canonical JSON) as JSON; text that does not parse stays text. */
function parseStored(data: string): Json {
  try {
    return JSON.parse(data) as Json;
  } catch {
    return data;
  }
}

/** The readable text of a stored result: a string as it is, resource contents' text, else the JSON. */
function textOf(data: string): string {
  const v = parseStored(data);
  if (typeof v === 'string') return v;
  const contents = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject)['contents'] : undefined;
  if (Array.isArray(contents)) {
    const texts = contents.flatMap((c: Json) => {
      const text = c !== null && typeof c === 'object' && !Array.isArray(c) ? (c as JsonObject)['text'] : undefined;
      return typeof text === 'string' ? [text] : [];
    });
    if (texts.length > 0) return texts.join('\n');
  }
  return data;
}

/** The first `max` characters (never half a surrogate pair), with `…` when something was cut. */
function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const code = s.charCodeAt(max - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  return `${s.slice(0, end)}…`;
}
