// `airlock ingest` as a child process: what it reports, plain progress lines off a terminal, and bad
// input (an undeclared source, a missing folder) refused with exit code 2 and where.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { airlock, requireBuild } from '../cli/cli-helpers.js';
import { AIRLOCK_YAML, contextWorkspace } from './context-workspace.js';

describe('airlock ingest', () => {
  let ws: ReturnType<typeof contextWorkspace>;
  beforeAll(requireBuild);
  beforeEach(() => {
    ws = contextWorkspace({ 'docs/hr/a.md': 'alpha\n\nsecond paragraph\n', 'docs/handbook/b.html': '<p>bravo</p>' });
  });
  afterEach(() => ws.cleanup());

  it('ingests every source, then only what changed', async () => {
    const first = await airlock(['-w', ws.dir, 'ingest']);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('ok handbook: 1 file; 1 added, 0 changed, 0 relabelled, 0 unchanged, 0 removed; 1 chunk written');
    expect(first.stdout).toContain('ok hr: 1 file; 1 added');
    expect(first.stderr).toContain('hr: 1/1 files');
    const again = await airlock(['-w', ws.dir, 'ingest', '--source', 'hr']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('ok hr: 1 file; 0 added, 0 changed, 0 relabelled, 1 unchanged, 0 removed; 0 chunks written');
  });

  it('refuses an undeclared source and a missing folder with exit code 2, saying where', async () => {
    const unknown = await airlock(['-w', ws.dir, 'ingest', '--source', 'payroll']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no source `payroll` is declared');
    expect(unknown.stderr).toContain('`handbook`, `hr`');
    ws.write('airlock.yaml', AIRLOCK_YAML.replace('path: docs/hr', 'path: docs/missing'));
    const missing = await airlock(['-w', ws.dir, 'ingest']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('source `hr`: folder `docs/missing` does not exist');
    expect(missing.stderr).toContain('sources.hr.path');
  });

  it('with embeddings: exit 2 before ingesting when the key is missing; exit 1 when the endpoint fails, the documents stored', async () => {
    const declared = (baseUrl: string) => AIRLOCK_YAML.replace('policies:', `embeddings: { kind: openai, baseUrl: "${baseUrl}", model: m, apiKey: { env: AIRLOCK_TEST_EMBED_KEY_NEVER_SET }, maxRetries: 0, timeoutMs: 2000 }\npolicies:`);
    ws.write('airlock.yaml', declared('http://127.0.0.1:9/v1'));
    const keyless = await airlock(['-w', ws.dir, 'ingest']);
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toContain('embeddings reads its API key from `AIRLOCK_TEST_EMBED_KEY_NEVER_SET`, which is not set');
    expect(keyless.stdout).not.toContain('added');
    // Port 9 (discard) refuses the connection: the endpoint fails, the documents are stored anyway.
    ws.write('airlock.yaml', declared('http://127.0.0.1:9/v1').replace('apiKey: { env: AIRLOCK_TEST_EMBED_KEY_NEVER_SET }, ', ''));
    const failing = await airlock(['-w', ws.dir, 'ingest']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('ok hr: 1 file; 1 added');
    expect(failing.stdout).toContain('embedding stopped: the embeddings endpoint failed');
  });
});
