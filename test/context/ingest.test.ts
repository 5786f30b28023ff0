// Incremental ingest: an unchanged file is not chunked again, a changed one gets a new version hash and
// its old text leaves search, a deleted one is removed, changed labels apply without re-chunking, and
// hidden files and symbolic links are never read.
import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestSources } from '../../src/context/sources/ingest.js';
import type { Workspace } from '../../src/config/schema.js';
import { loadWorkspace } from '../../src/config/load.js';
import type { Store } from '../../src/store/store.js';
import { AIRLOCK_YAML, contextWorkspace, openContext } from './context-workspace.js';

describe('airlock ingest (incremental)', () => {
  let ws: ReturnType<typeof contextWorkspace>;
  let store: Store;
  let workspace: Workspace;
  const now = (): Date => new Date('2030-01-10T00:00:00Z');
  const find = async (word: string, grantee = 'role:hr'): Promise<string[]> =>
    (await store.searchContext({ terms: [word], entitlements: [['*', grantee]], sources: ['hr', 'handbook'], limit: 100 })).map((h) => `${h.source}/${h.path}`);

  beforeEach(async () => {
    ws = contextWorkspace({ 'docs/hr/a.md': 'alpha one\n', 'docs/hr/b.txt': 'bravo two\n', 'docs/handbook/c.md': 'charlie three\n', 'docs/handbook/notes.docx': 'not read' });
    ({ store, workspace } = await openContext(ws.dir));
  });
  afterEach(async () => {
    await store.close();
    ws.cleanup();
  });

  it('chunks only new and changed files, versions changes, removes deleted files from search', async () => {
    const first = await ingestSources(workspace, store, { now });
    expect(first.map((r) => [r.source, r.files, r.added, r.chunks])).toEqual([['handbook', 1, 1, 1], ['hr', 2, 2, 2]]);
    const before = new Map((await store.contextDocuments('hr')).map((d) => [d.path, d.versionHash]));

    const again = await ingestSources(workspace, store, { now });
    expect(again.map((r) => [r.unchanged, r.added, r.changed, r.chunks])).toEqual([[1, 0, 0, 0], [2, 0, 0, 0]]);

    ws.write('docs/hr/a.md', 'alpha revised, now about delta\n');
    rmSync(path.join(ws.dir, 'docs/hr/b.txt'));
    const third = await ingestSources(workspace, store, { now, source: 'hr' });
    expect(third).toEqual([expect.objectContaining({ source: 'hr', files: 1, changed: 1, removed: 1, unchanged: 0, chunks: 1 })]);
    const after = await store.contextDocuments('hr');
    expect(after.map((d) => d.path)).toEqual(['a.md']);
    expect(after[0]?.versionHash).not.toBe(before.get('a.md'));
    expect(await find('delta')).toEqual(['hr/a.md']);
    expect(await find('one')).toEqual([]);
    expect(await find('bravo')).toEqual([]);
    expect(await find('charlie')).toEqual(['handbook/c.md']);
  });

  it('applies changed access lists without re-chunking, and drops sources no longer declared', async () => {
    await ingestSources(workspace, store, { now });
    expect(await find('alpha', 'role:staff')).toEqual([]);
    ws.write('airlock.yaml', AIRLOCK_YAML.replace('access: [role:hr]\n', 'access: [role:hr, role:staff]\n'));
    workspace = await loadWorkspace(ws.dir);
    const relabel = await ingestSources(workspace, store, { now, source: 'hr' });
    expect(relabel).toEqual([expect.objectContaining({ relabelled: 2, chunks: 0, changed: 0 })]);
    expect(await find('alpha', 'role:staff')).toEqual(['hr/a.md']);

    const yaml = AIRLOCK_YAML.slice(0, AIRLOCK_YAML.indexOf('  hr:\n    kind: folder')) + AIRLOCK_YAML.slice(AIRLOCK_YAML.indexOf('policies:'));
    ws.write('airlock.yaml', yaml.replace('classification: confidential\n    trust: untrusted', 'classification: internal\n    trust: untrusted'));
    workspace = await loadWorkspace(ws.dir);
    await ingestSources(workspace, store, { now });
    expect(await store.contextSources()).toEqual(['handbook']);
    expect(await find('alpha')).toEqual([]);
  });

  it('never follows a symbolic link or reads hidden files', async () => {
    const outside = path.join(ws.dir, 'secret.md');
    writeFileSync(outside, 'zulu secret outside the folder\n');
    symlinkSync(outside, path.join(ws.dir, 'docs/handbook/link.md'));
    symlinkSync(path.join(ws.dir, 'docs/hr'), path.join(ws.dir, 'docs/handbook/hr-link'));
    ws.write('docs/handbook/.hidden.md', 'zulu hidden\n');
    const [handbook] = await ingestSources(workspace, store, { now, source: 'handbook' });
    expect(handbook?.files).toBe(1);
    expect(await find('zulu', '*')).toEqual([]);
    expect(await find('alpha', '*')).toEqual([]);
  });

  it('keeps a NUL in a text file as U+FFFD, offsets unchanged (PostgreSQL text holds no NUL; every store keeps the same text)', async () => {
    ws.write('docs/handbook/nul.md', 'yankee\u0000zulu\n');
    await ingestSources(workspace, store, { now, source: 'handbook' });
    const hits = await store.readContextDocument({ source: 'handbook', path: 'nul.md', entitlements: [['*']], maxChunks: 5 });
    expect(hits.map((h) => [h.text, h.start, h.end])).toEqual([['yankee\ufffdzulu', 0, 11]]);
    expect(await find('zulu', '*')).toEqual(['handbook/nul.md']);
  });
});
