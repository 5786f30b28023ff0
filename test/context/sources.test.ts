// The `sources` section: defaults, and every cross-reference refused with where it is (file:line:col and path).
import { describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../src/config/load.js';
import { loadErrors } from '../config/helpers.js';
import { AIRLOCK_YAML, contextWorkspace } from './context-workspace.js';

async function errorsOf(yaml: string): Promise<string> {
  const ws = contextWorkspace({}, yaml);
  try {
    return (await loadErrors(ws.dir)).text;
  } finally {
    ws.cleanup();
  }
}

describe('sources in the workspace', () => {
  it('loads folder sources with their labels, defaults and document overrides', async () => {
    const ws = contextWorkspace({});
    try {
      const { file } = await loadWorkspace(ws.dir);
      expect(file.sources['handbook']).toMatchObject({ kind: 'folder', classification: 'internal', trust: 'untrusted', owner: 'user:dana', access: ['*'], maxAgeDays: 30, documents: {} });
      expect(file.sources['hr']).toMatchObject({ trust: 'trusted', maxAgeDays: 365 });
      expect(file.sources['hr']?.documents['public-holidays.md']).toEqual({ classification: 'internal', access: ['role:hr', 'role:staff', 'role:assistant'] });
      expect(file.connectors['context']).toEqual({ kind: 'context', resultLimit: 20 });
    } finally {
      ws.cleanup();
    }
  });

  it('refuses access lists and owners naming undeclared roles and principals, with where', async () => {
    const text = await errorsOf(AIRLOCK_YAML.replace('access: [role:hr]\n', 'access: [role:payroll, user:nobody, agent:dana]\n').replace('owner: user:dana\n    access: [\'*\']', "owner: user:ghost\n    access: ['*']"));
    expect(text).toContain('access list names role `payroll`, which no declared principal has');
    expect(text).toContain('access list names `user:nobody` is not a declared principal');
    expect(text).toContain('`agent:dana` is declared with kind `user`, not `agent`');
    expect(text).toContain('owner `user:ghost` is not a declared principal');
    expect(text).toMatch(/airlock\.yaml:\d+:\d+/);
    expect(text).toContain('sources.hr.access[0]');
  });

  it('refuses malformed access entries and document paths that leave the folder', async () => {
    const text = await errorsOf(AIRLOCK_YAML.replace('access: [role:hr]\n', 'access: [hr]\n').replace('public-holidays.md:', '../escape.md:'));
    expect(text).toContain('expected `role:<name>`, `user:<id>`, `agent:<id>`, `service:<id>` or `*`');
    expect(text).toContain('expected a relative path inside the source folder');
  });

  it('refuses a context.search labelled below what it can return, or trusted over untrusted sources', async () => {
    const text = await errorsOf(AIRLOCK_YAML.replace('classification: confidential\n    trust: untrusted', 'classification: internal\n    trust: trusted'));
    expect(text).toContain('`context.search` can return source `hr`, classified `confidential`, but declares classification `internal`');
    expect(text).toContain('`context.search` can return source `handbook`, which is untrusted, but declares trust `trusted`');
  });

  it('refuses a context connector tool other than search and read', async () => {
    const text = await errorsOf(AIRLOCK_YAML.replace('name: context.search', 'name: context.delete_all').replace('tools: [context.search]', 'tools: [context.delete_all]'));
    expect(text).toContain('a `context` connector serves `search` and `read`; `context.delete_all` calls `delete_all`');
  });
});
