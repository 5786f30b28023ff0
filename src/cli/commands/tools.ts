// `airlock tools import` (draft contracts from a live upstream, for review) and `airlock tools check` (tool drift).
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Document, isSeq } from 'yaml';
import { AirlockError } from '../../errors.js';
import { loadWorkspace, WORKSPACE_FILE } from '../../config/load.js';
import type { ToolContract, Workspace } from '../../config/schema.js';
import type { Connector, UpstreamTool } from '../../tools/connector.js';
import { ConnectorPool } from '../../tools/connectors/pool.js';
import { checkDrift, type DriftEntry, type DriftReport, type ReviewedLookup } from '../../tools/drift.js';
import { draftContract, upstreamDefinitionHash, upstreamNameOf, type ContractDraft } from '../../tools/import.js';
import type { JsonObject } from '../../types.js';
import { bold, dim, green, red, yellow } from '../render.js';
import { renderTierTable } from '../tier-table.js';

/** What `registerToolsCommand` needs from the program that hosts it. */
export interface ToolsCommandHelpers {
  /** The workspace folder the command works on (`--workspace`, the current folder, or the demo). */
  readonly workspaceDir: () => string;
  /** Writes text and a newline to stdout (default: process.stdout). */
  readonly out?: (text: string) => void;
}

/** Where connectors come from: a `ConnectorPool`, or anything that hands out connectors by name. */
export interface ConnectorSource {
  get(name: string): Connector;
}

/** A new upstream tool and its draft contract. */
export interface ImportDraft {
  readonly upstream: string;
  readonly contract: ContractDraft;
  readonly notes: readonly string[];
}

/** An upstream tool that already has a contract: not re-drafted, only compared. */
export interface ImportExisting {
  readonly contract: string;
  readonly upstream: string;
  readonly entry: DriftEntry;
  /** The hash to set as `reviewedUpstream` once the live definition is reviewed. */
  readonly liveHash: string;
  readonly notes: readonly string[];
}

/** What `airlock tools import CONNECTOR` found and drafted. */
export interface ImportResult {
  readonly connector: string;
  readonly drafts: readonly ImportDraft[];
  readonly existing: readonly ImportExisting[];
  /** Contracts of this connector whose upstream tool is gone. */
  readonly missing: readonly DriftEntry[];
  readonly live: readonly UpstreamTool[];
}

/**
 * Drafts contracts for the upstream tools of `connector` that no contract covers, and compares the
 * covered ones with their contracts (never re-drafting them over a reviewed contract). Pure.
 * `contracts` are all of the workspace's contracts (new names must not collide with any).
 */
export function planImport(connector: string, live: readonly UpstreamTool[], contracts: readonly ToolContract[]): ImportResult {
  const mine = contracts.filter((c) => c.connector === connector);
  const report = checkDrift(mine, live);
  const taken = new Set(contracts.map((c) => c.name));
  const drafts: ImportDraft[] = [];
  const existing: ImportExisting[] = [];
  const missing: DriftEntry[] = [];
  const liveByName = new Map(live.map((t) => [t.name, t] as const));
  for (const entry of report.entries) {
    if (entry.status === 'missing-upstream') {
      missing.push(entry);
    } else if (entry.status === 'unreviewed-new') {
      const tool = liveByName.get(entry.upstream) as UpstreamTool;
      const { contract, notes } = draftContract(connector, tool);
      const name = uniqueName(contract.name, taken);
      taken.add(name);
      const extra = name !== contract.name ? [`renamed to \`${name}\`: \`${contract.name}\` is taken`] : [];
      drafts.push({
        upstream: tool.name,
        contract: name !== contract.name ? { ...contract, name, upstream: tool.name } : contract,
        notes: [...extra, ...notes],
      });
    } else {
      const c = mine.find((x) => x.name === entry.tool) as ToolContract;
      const tool = liveByName.get(upstreamNameOf(c)) as UpstreamTool;
      const { notes } = draftContract(connector, tool, c);
      existing.push({ contract: c.name, upstream: tool.name, entry, liveHash: upstreamDefinitionHash(tool), notes });
    }
  }
  return { connector, drafts, existing, missing, live };
}

/** Starts `connector` through `connectors`, lists its tools and plans the import. */
export async function importTools(connectors: ConnectorSource, connector: string, contracts: readonly ToolContract[]): Promise<ImportResult> {
  const live = await connectors.get(connector).listTools();
  return planImport(connector, live, contracts);
}

/**
 * The import as YAML for review: a header saying it is a draft, a `tools:` list with each draft's
 * notes as comments before it, and the tools already under contract as a closing comment.
 */
export function renderImportYaml(result: ImportResult, tierTable: readonly string[] = []): string {
  const doc = new Document({ tools: result.drafts.map((d) => d.contract) });
  doc.commentBefore = commentLines([
    ...(tierTable.length > 0 ? ['What each draft means in this workspace\'s workflows, as drafted:', ...tierTable.map((l) => `  ${l}`), ''] : []),
    `DRAFT tool contracts for connector \`${result.connector}\`, generated by \`airlock tools import\` from the live upstream.`,
    'This is a draft for human review, NOT a reviewed contract. Before moving an entry under `tools:` in airlock.yaml:',
    '  - read the description: agents see exactly that text, and an upstream can hide instructions for models in it',
    '  - check effect, risk, classification and trust: upstream annotations only ever made them stricter',
    '  - declare a `compensation` where something can undo the call, and narrow the input schema',
    '`reviewedUpstream` pins the upstream definition you review; if the upstream changes it, the tool is denied until re-reviewed.',
    `${result.drafts.length} new tool(s); ${result.existing.length} already under contract; ${result.missing.length} contract(s) whose upstream tool is gone.`,
  ]);
  const seq = doc.get('tools', true);
  if (isSeq(seq)) {
    seq.items.forEach((item, i) => {
      const d = result.drafts[i];
      if (d && item && typeof item === 'object') {
        (item as { commentBefore?: string }).commentBefore = commentLines([`upstream tool \`${d.upstream}\`:`, ...d.notes.map((n) => `  - ${n}`)]);
      }
    });
  }
  const trailer = importSummaryLines(result);
  if (trailer.length > 0) doc.comment = commentLines(trailer);
  return doc.toString({ lineWidth: 0 });
}

/**
 * What each draft of `result` will mean in each workflow of `ws`, at its tier (`tier-table.ts`),
 * as a table; empty when nothing was drafted.
 */
export function importTierTable(result: ImportResult, ws: Workspace): string[] {
  if (result.drafts.length === 0) return [];
  const columns = [...ws.workflows.values()].map((w) => ({ workflow: w.name, tier: w.tier }));
  const compensations = new Set([...ws.tools.values()].flatMap((t) => (t.compensation ? [t.compensation.tool] : [])));
  const drafted = result.drafts.map((d) => ({ name: d.contract.name, effect: d.contract.effect, risk: d.contract.risk, irreversible: d.contract.irreversible ?? false }));
  return renderTierTable(drafted, columns, compensations);
}

/** The tools already under contract (and contracts whose upstream is gone), one line each plus notes. */
export function importSummaryLines(result: ImportResult): string[] {
  const lines: string[] = [];
  if (result.existing.length > 0) lines.push('Already under contract (not re-drafted; a reviewed contract is never overwritten):');
  for (const e of result.existing) {
    lines.push(`  ${e.contract} (upstream \`${e.upstream}\`): ${entryHeadline(e.entry)}`);
    if (e.entry.status === 'changed' || e.entry.status === 'unreviewed') {
      lines.push(`    after review, set \`reviewedUpstream: ${e.liveHash}\``);
    }
    if (e.entry.status === 'changed') for (const d of e.entry.details) lines.push(`    ${d}`);
    for (const n of e.notes) if (n.startsWith('review:') || n.startsWith('WARNING')) lines.push(`    - ${n}`);
  }
  for (const m of result.missing) lines.push(`  ${'tool' in m ? m.tool : ''} (upstream \`${m.upstream}\`): MISSING upstream: the connector no longer offers it`);
  return lines;
}

/** One connector's drift, or why it could not be checked. */
export type ConnectorCheck =
  | { readonly connector: string; readonly report: DriftReport }
  | { readonly connector: string; readonly error: string };

/** Lists each connector's tools and compares them with its contracts. Never throws for a connector fault. */
export async function checkConnectors(
  connectors: ConnectorSource,
  names: readonly string[],
  contracts: readonly ToolContract[],
  opts: { readonly reviewed?: ReviewedLookup } = {},
): Promise<ConnectorCheck[]> {
  const out: ConnectorCheck[] = [];
  for (const name of names) {
    try {
      const live = await connectors.get(name).listTools();
      const report = checkDrift(contracts.filter((c) => c.connector === name), live, opts.reviewed ? { reviewed: opts.reviewed } : {});
      out.push({ connector: name, report });
    } catch (err) {
      out.push({ connector: name, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}

/** Whether `airlock tools check` fails: drift, an unreachable connector, or (strict) anything unreviewed. */
export function checkFailed(checks: readonly ConnectorCheck[], strict = false): boolean {
  return checks.some((c) => 'error' in c || c.report.drifted || (strict && c.report.needsReview));
}

/** The drift report as text, one line per contract and per new upstream tool. */
export function renderDriftReport(checks: readonly ConnectorCheck[]): string {
  const lines: string[] = [];
  for (const c of checks) {
    if ('error' in c) {
      lines.push(`${bold(`connector ${c.connector}`)}: ${red('could not list its tools')}: ${printable(c.error)}`);
      continue;
    }
    const n = (s: DriftEntry['status']) => c.report.entries.filter((e) => e.status === s).length;
    lines.push(
      `${bold(`connector ${c.connector}`)}: ${n('ok')} ok, ${n('changed')} changed, ${n('missing-upstream')} missing upstream, ` +
        `${n('unreviewed')} unreviewed, ${n('unreviewed-new')} new upstream tool(s) without a contract`,
    );
    for (const e of c.report.entries) {
      const [word, paint] = ({ ok: ['ok', green], changed: ['CHANGED', red], 'missing-upstream': ['MISSING', red], unreviewed: ['unreviewed', yellow], 'unreviewed-new': ['new', yellow] } as const)[e.status];
      const label = paint(word.padEnd(11));
      const who = 'tool' in e ? `${printable(e.tool)} ${dim(`← ${printable(e.upstream)}`)}` : printable(e.upstream);
      lines.push(`  ${label} ${who}: ${printable(entryHeadline(e))}`);
      if (e.status === 'changed') for (const d of e.details) lines.push(`      ${printable(d)}`);
    }
  }
  const drifted = checks.filter((c) => 'report' in c && c.report.drifted).length;
  const broken = checks.filter((c) => 'error' in c).length;
  lines.push(
    drifted + broken === 0
      ? green('no drift: every reviewed contract matches its live upstream definition')
      : red(`drift: ${drifted} connector(s) drifted, ${broken} could not be checked; drifted tools are denied until re-reviewed`),
  );
  return lines.join('\n');
}

/** `name`, or `name_2`, `name_3`… the first one not in `taken`. */
function uniqueName(name: string, taken: ReadonlySet<string>): string {
  if (!taken.has(name)) return name;
  for (let i = 2; ; i++) if (!taken.has(`${name}_${i}`)) return `${name}_${i}`;
}

function entryHeadline(e: DriftEntry): string {
  switch (e.status) {
    case 'ok':
      return 'unchanged since review';
    case 'changed':
      return `CHANGED since review: ${e.changed.length > 0 ? e.changed.join(', ') : 'definition'}${e.certain ? '' : ' (inferred)'}`;
    case 'missing-upstream':
      return 'the upstream no longer offers this tool';
    case 'unreviewed':
      return `no \`reviewedUpstream\` pinned; live definition ${e.live.slice(0, 12)}`;
    case 'unreviewed-new':
      return 'no contract (unreachable until one is drafted and reviewed)';
  }
}

// --- the workspace side: files and snapshots -------------------------------------------------

/** Where `airlock tools import` keeps the upstream definitions it saw, by hash. */
export function snapshotDir(workspaceDir: string): string {
  return path.join(workspaceDir, '.airlock', 'upstream');
}

/** Keeps each listed definition as `<hash>.json` (content-addressed: an existing file is left alone). */
export function saveSnapshots(workspaceDir: string, live: readonly UpstreamTool[]): void {
  const dir = snapshotDir(workspaceDir);
  mkdirSync(dir, { recursive: true });
  for (const t of live) {
    const file = path.join(dir, `${upstreamDefinitionHash(t)}.json`);
    if (!existsSync(file)) writeFileSync(file, JSON.stringify(t, null, 2) + '\n', { flag: 'wx' });
  }
}

/** Reads snapshots back; `checkDrift` uses one only when it hashes to the reviewed hash. */
export function snapshotLookup(workspaceDir: string): ReviewedLookup {
  return (hash) => {
    if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
    try {
      const v = JSON.parse(readFileSync(path.join(snapshotDir(workspaceDir), `${hash}.json`), 'utf8')) as Partial<UpstreamTool>;
      if (typeof v.name !== 'string' || typeof v.description !== 'string' || v.inputSchema === undefined) return undefined;
      return {
        name: v.name,
        description: v.description,
        inputSchema: v.inputSchema,
        ...(v.annotations ? { annotations: v.annotations as JsonObject } : {}),
      };
    } catch {
      return undefined;
    }
  };
}

function requireStdioConnector(ws: Workspace, name: string): void {
  const cfg = ws.file.connectors[name];
  const declared = Object.keys(ws.file.connectors);
  if (!cfg) {
    throw new AirlockError('not-found', `connector \`${name}\` is not declared in the workspace`, {
      hint: declared.length > 0 ? `declared: ${declared.join(', ')}` : 'declare it under `connectors` in airlock.yaml',
    });
  }
  if (cfg.kind !== 'mcp-stdio') {
    throw new AirlockError('input', `connector \`${name}\` is of kind \`${cfg.kind}\`: it has no MCP tool list to import or check`, {
      hint: 'write its contracts by hand (`http` tools declare their request under `http`)',
    });
  }
}

function checkOutFile(file: string, ws: Workspace, force: boolean): void {
  const abs = path.resolve(file);
  const folder = path.dirname(abs);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new AirlockError('input', `--out \`${file}\`: the folder \`${folder}\` does not exist`, { hint: 'create the folder first, or write elsewhere' });
  }
  if (abs === path.join(ws.dir, WORKSPACE_FILE)) {
    throw new AirlockError('input', `--out \`${file}\` is the workspace's ${WORKSPACE_FILE}: a draft never overwrites reviewed contracts`, {
      hint: 'write the draft to its own file and copy the reviewed entries by hand',
    });
  }
  if (existsSync(abs) && statSync(abs).isDirectory()) throw new AirlockError('input', `--out \`${file}\` is a folder`, { hint: 'name a file to write, e.g. drafts.yaml' });
  if (existsSync(abs) && !force) {
    throw new AirlockError('conflict', `--out \`${file}\` already exists`, { hint: 'pass --force to replace it, or name another file' });
  }
}

/** Registers `tools import` and `tools check` on `program`. */
export function registerToolsCommand(program: Command, helpers: ToolsCommandHelpers): Command {
  const out = helpers.out ?? ((s: string) => void process.stdout.write(s + '\n'));
  const tools = program.command('tools').description('draft tool contracts from an upstream MCP server, and detect tool drift');

  tools
    .command('import <connector>')
    .description('list the tools of a connector and write draft contracts for review (tools with contracts are compared, never overwritten)')
    .option('--out <file>', 'write the draft YAML to a file instead of stdout')
    .option('--force', 'replace the --out file if it exists')
    .action(async (connector: string, o: { out?: string; force?: boolean }) => {
      const ws = await loadWorkspace(helpers.workspaceDir());
      requireStdioConnector(ws, connector);
      if (o.out !== undefined) checkOutFile(o.out, ws, Boolean(o.force));
      const pool = new ConnectorPool(ws.file.connectors, ws.dir, ws.tools.values());
      let result: ImportResult;
      try {
        result = await importTools(pool, connector, [...ws.tools.values()]);
      } catch (err) {
        throw new AirlockError('connector', `could not list the tools of connector \`${connector}\`: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      } finally {
        await pool.closeAll();
      }
      try {
        saveSnapshots(ws.dir, result.live);
      } catch (err) {
        // Snapshots only sharpen later drift reports; a read-only workspace still gets its draft.
        process.stderr.write(yellow(`warning: could not keep upstream snapshots in ${snapshotDir(ws.dir)}: ${err instanceof Error ? err.message : String(err)}`) + '\n');
      }
      const table = importTierTable(result, ws);
      const yaml = renderImportYaml(result, table);
      if (o.out === undefined) {
        out(yaml.trimEnd());
        return;
      }
      writeFileSync(o.out, yaml);
      out(`${green('ok')}: ${result.drafts.length} draft contract(s) for connector ${connector} written to ${o.out} (review before use)`);
      if (table.length > 0) {
        out('');
        for (const line of table) out(printable(line));
        out('');
        out(dim(`next: review ${o.out}, move the entries you keep under \`tools:\` in ${WORKSPACE_FILE}, list them in a workflow's \`tools\`, and write the permits; then \`airlock validate\``));
      }
      for (const line of importSummaryLines(result)) out(printable(line));
    });

  tools
    .command('check [connector]')
    .description('compare reviewed contracts with the live upstream tools; exit 1 when anything drifted')
    .option('--strict', 'also fail on contracts without `reviewedUpstream` and on upstream tools without a contract')
    .option('--json', 'machine-readable output')
    .action(async (connector: string | undefined, o: { strict?: boolean; json?: boolean }) => {
      const ws = await loadWorkspace(helpers.workspaceDir());
      let names: string[];
      if (connector !== undefined) {
        requireStdioConnector(ws, connector);
        names = [connector];
      } else {
        names = Object.entries(ws.file.connectors)
          .filter(([, cfg]) => cfg.kind === 'mcp-stdio')
          .map(([n]) => n);
      }
      const pool = new ConnectorPool(ws.file.connectors, ws.dir, ws.tools.values());
      let checks: ConnectorCheck[];
      try {
        checks = await checkConnectors(pool, names, [...ws.tools.values()], { reviewed: snapshotLookup(ws.dir) });
      } finally {
        await pool.closeAll();
      }
      out(o.json ? JSON.stringify(checks, null, 2) : renderDriftReport(checks));
      if (checkFailed(checks, Boolean(o.strict))) process.exitCode = 1;
    });
  return tools;
}

/** YAML comment text: one `# ` line per line, with line breaks and control characters made visible. */
function commentLines(lines: readonly string[]): string {
  return lines.map((l) => ` ${printable(l)}`).join('\n');
}

/** Text an upstream may have written, safe for a terminal or a comment: control and invisible characters escaped. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/gu, (ch) =>
    `\\u{${(ch.codePointAt(0) ?? 0).toString(16)}}`,
  );
}
