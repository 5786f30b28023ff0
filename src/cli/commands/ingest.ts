// `airlock ingest [--source NAME]`: reads the declared sources into the store (incremental: only changed
// files are chunked again), with a progress bar on a terminal and plain progress lines otherwise.
import type { Command } from 'commander';
import { ingestSources, type IngestProgress, type SourceReport } from '../../context/sources/ingest.js';
import { workspaceRunner, type WorkspaceCommandHelpers } from './open-workspace.js';
import { bold, dim, green, red, yellow } from '../render.js';

/** Where progress goes: a terminal gets one bar redrawn in place, anything else a line per tenth. */
export interface ProgressSink {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** Registers `ingest` on `program`; progress goes to `progress` (default stderr). */
export function registerIngestCommand(program: Command, helpers: WorkspaceCommandHelpers & { readonly progress?: ProgressSink }): Command {
  const { out } = helpers;
  const withAirlock = workspaceRunner(helpers);
  return program
    .command('ingest')
    .description('read the declared sources (document folders) into the store: chunked with exact offsets, a content hash per version; only changed files are read again, deleted ones removed')
    .option('--source <name>', 'only this declared source')
    .action(async (o: { source?: string }) => {
      await withAirlock(async (a) => {
        const progress = progressPrinter(helpers.progress ?? process.stderr);
        // Embeddings' key is read before anything is ingested: a missing one is a `config` error (exit 2).
        const embedder = a.embedder?.();
        const reports = await ingestSources(a.workspace, a.store, { ...(o.source === undefined ? {} : { source: o.source }), now: a.now, onProgress: progress.update, ...(embedder ? { embedder } : {}) });
        progress.end();
        if (reports.length === 0) return out('no sources are declared (add them under `sources` in airlock.yaml)');
        for (const r of reports) out(summary(r));
        // The documents are stored and searchable by words; what was not embedded waits for the next ingest.
        if (reports.some((r) => r.embedFailed !== undefined)) process.exitCode = 1;
      });
    });
}

/** One source's outcome in a line, then each skipped file. */
function summary(r: SourceReport): string {
  const lines = [
    `${green('ok')} ${bold(r.source)}: ${r.files} file${r.files === 1 ? '' : 's'}; ${r.added} added, ${r.changed} changed, ${r.relabelled} relabelled, ${r.unchanged} unchanged, ${r.removed} removed; ${r.chunks} chunk${r.chunks === 1 ? '' : 's'} written`,
    ...r.skipped.map((s) => `  ${yellow('skipped')} ${s.path}: ${dim(s.reason)}`),
    ...(r.embedded === undefined ? [] : [`  ${r.embedded} chunk${r.embedded === 1 ? '' : 's'} embedded`]),
    ...(r.embedFailed === undefined ? [] : [`  ${red('embedding stopped')}: ${r.embedFailed} ${dim('(the documents are searchable by words; run `airlock ingest` again to embed the rest)')}`]),
  ];
  return lines.join('\n');
}

const BAR = 30;

/** A progress display: a bar redrawn in place on a terminal, else a plain line at every tenth and at the end. */
export function progressPrinter(sink: ProgressSink): { update: (p: IngestProgress) => void; end: () => void } {
  let drawn = false;
  let lastTenth = new Map<string, number>();
  return {
    update(p) {
      if (sink.isTTY) {
        const filled = p.total === 0 ? BAR : Math.round((p.done / p.total) * BAR);
        sink.write(`\r${p.source} [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${p.done}/${p.total}`);
        drawn = true;
        return;
      }
      const tenth = p.total === 0 ? 10 : Math.floor((p.done * 10) / p.total);
      if (tenth <= (lastTenth.get(p.source) ?? -1)) return;
      lastTenth.set(p.source, tenth);
      sink.write(`${p.source}: ${p.done}/${p.total} files\n`);
    },
    end() {
      if (drawn) sink.write('\n');
      drawn = false;
      lastTenth = new Map();
    },
  };
}
