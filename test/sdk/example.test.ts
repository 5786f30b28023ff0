// examples/sdk-agent runs as documented (`node dist/examples/sdk-agent/agent.js`) and does what its README says.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAndCompile, openAirlock } from '../../src/airlock.js';
import { verifyStore } from '../../src/audit/log.js';
import { runPolicyTests } from '../../src/policy/policy-tests.js';
import { AIRLOCK_ROOT } from '../../src/util/package-root.js';
import { SDK_EXAMPLE_DIR } from './fixtures.js';

const run = promisify(execFile);
const AGENT = path.join(AIRLOCK_ROOT, 'dist/examples/sdk-agent/agent.js');

describe('examples/sdk-agent', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-sdk-example-'));
  cpSync(SDK_EXAMPLE_DIR, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}.airlock`) });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the read executes, the credit waits for approval and then runs once, the delete is denied', async () => {
    const { stdout } = await run(process.execPath, [AGENT, dir], { timeout: 60_000 });
    const lines = stdout.split('\n');
    expect(lines).toContain('   lookup_invoice -> {"invoice_id":"INV-1001","customer_id":"C-7","amount_cents":12900,"status":"paid"}');
    expect(stdout).toMatch(/issue_credit -> approval required \(single\): approval apr_[0-9a-f]+; call again with the same arguments once approved and it runs once \(credits above 10\.00 need one approver\)/);
    expect(lines).toContain(
      '   delete_account -> denied by Airlock: accounts are deleted by a person in the admin console, never by an agent (policies: no-account-deletion)',
    );
    expect(lines).toContain('   issue_credit -> {"credited":2500,"invoice_id":"INV-1001"}');
    expect(stdout).toMatch(/run run_\w+ completed; credits issued: \[\{"invoice_id":"INV-1001","amount_cents":2500,"reason":"the item arrived damaged"\}\]; account C-7 still exists: true/);

    const airlock = await openAirlock(dir);
    try {
      expect((await verifyStore(airlock.store)).ok).toBe(true);
      const records = await airlock.store.readAudit(1, 1000);
      expect(records[0]).toMatchObject({ type: 'run.started', principal: 'agent:billing-bot', body: { door: 'sdk', workflow: 'billing-desk' } });
      const types = records.map((r) => `${r.type}${r.body['tool'] ? ` ${String(r.body['tool'])}` : ''}`);
      expect(types.filter((t) => t.startsWith('action.authorized'))).toEqual(['action.authorized app.lookup_invoice', 'action.authorized app.issue_credit']);
      expect(types).toContain('action.not-executed app.delete_account');
      expect(types).toContain('approval.decided');
    } finally {
      await airlock.close();
    }
  });

  it("the workspace's policy tests pass", async () => {
    const { workspace, compiled } = await loadAndCompile(SDK_EXAMPLE_DIR);
    const files = (workspace.policyTestFiles ?? []).map((file) => ({ file, text: readFileSync(path.join(workspace.dir, file), 'utf8') }));
    const report = runPolicyTests(compiled, workspace, files);
    expect(report.results.filter((r) => !r.passed)).toEqual([]);
    expect(report.passed).toBe(5);
  });
});
