// The commands printed for a paused run name this workspace's people: those its policies let decide, and
// for the second step-up vote one whose API key file the workspace holds (never Acme's dana or priya).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/identity/api-keys.js';
import { airlock, requireBuild } from './cli-helpers.js';

let root: string;
const cli = (...args: string[]) => airlock(args, { cwd: root, timeoutMs: 60_000 });
const file = (rel: string) => path.join(root, 'ws', rel);
const edit = (rel: string, from: string | RegExp, to: string): void => {
  const text = readFileSync(file(rel), 'utf8');
  const next = text.replace(from, to);
  expect(next, `${String(from)} in ${rel}`).not.toBe(text);
  writeFileSync(file(rel), next);
};

beforeAll(async () => {
  requireBuild();
  root = mkdtempSync(path.join(os.tmpdir(), 'airlock-hints-'));
  expect((await cli('init', 'ws', '--kind', 'agent', '--user', 'ada')).code).toBe(0);
  // Two more people: grace approves (and keeps her key in the workspace), hal does not.
  const grace = generateApiKey();
  mkdirSync(file('keys'));
  writeFileSync(file('keys/grace.key'), `${grace.key}\n`);
  edit(
    'airlock.yaml',
    '      roles: [approver]\n',
    `      roles: [approver]\n    - id: grace\n      kind: user\n      roles: [approver]\n    - id: hal\n      kind: user\n      roles: [viewer]\n`,
  );
  edit('airlock.yaml', 'apiKeys: []', `apiKeys:\n    - { id: grace-laptop, principal: user:grace, sha256: ${grace.sha256} }`);
  // One tool the app executes itself; a payment always needs two people.
  edit('airlock.yaml', 'connectors: {}', 'connectors:\n  app:\n    kind: in-process');
  edit(
    'airlock.yaml',
    'tools: []',
    'tools:\n  - name: app.pay\n    connector: app\n    description: Pay a supplier invoice.\n    effect: financial\n    risk: medium\n    irreversible: true\n' +
      '    inputSchema: { type: object, properties: { invoice: { type: string }, amount_cents: { type: integer } }, required: [invoice, amount_cents], additionalProperties: false }',
  );
  writeFileSync(
    file('policies/pay.cedar'),
    '@id("pay-needs-two")\n@approval("step-up")\npermit (principal in Airlock::Role::"assistant", action == Airlock::Action::"call", resource == Airlock::Tool::"app.pay");\n',
  );
  edit('workflows/main.yaml', /^owners: \{\}$/m, 'owners: { product: p@x.example, architecture: a@x.example, platform: pl@x.example, security: s@x.example, domain: d@x.example, compliance: c@x.example }');
  edit('workflows/main.yaml', /^tier: assist$/m, 'tier: execute-low');
  edit('workflows/main.yaml', /^tools: \[\]$/m, 'tools: [app.pay]');
  edit('playbooks/main.yaml', /^steps:\n[\s\S]*$/m, 'steps:\n  - call: app.pay\n    args: { invoice: INV-7, amount_cents: 12000 }\n  - final: Paid.\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the commands printed for a paused run', () => {
  it('name the people this workspace lets decide, and the key file of the second one', async () => {
    const r = await cli('-w', 'ws', 'run', 'main', '--input', '{}');
    expect(r.stderr).toBe('');
    const run = /^run (run_[0-9a-f]+): awaiting-approval$/m.exec(r.stdout)?.[1];
    expect(run, r.stdout).toBeDefined();
    const id = /^approve: +airlock -w ws approve (apr_[0-9a-f]+) --as ada --reason "\.\.\."/m.exec(r.stdout)?.[1];
    expect(id, r.stdout).toBeDefined();
    expect(r.stdout).toContain('may decide: user:ada, user:grace; agent:assistant cannot approve its own action');
    expect(r.stdout).toContain(`then:     airlock -w ws approve ${id} --key "$(cat ws/keys/grace.key)" --reason "..."`);
    expect(r.stdout).toContain('(step-up: a second approver, user:grace, with a login of their own)');
    expect(r.stdout).toContain(`edit:     airlock -w ws approve ${id} --as ada --set amount_cents=VALUE --reason "..."`);
    expect(r.stdout).toContain(`reject:   airlock -w ws reject ${id} --as ada --reason "..."`);
    expect(r.stdout).not.toMatch(/dana|priya|finance/);

    // The printed commands work as printed: ada votes, grace signs in with her key file and decides.
    expect((await cli('-w', 'ws', 'approve', id!, '--as', 'ada', '--reason', 'invoice checked')).stdout).toMatch(/needs another eligible approver/);
    // ada voted with this machine's login: the vote left needs a login of its own, grace's key.
    const shown = await cli('-w', 'ws', 'runs', 'show', run!);
    expect(shown.stdout).toContain(`approve:  airlock -w ws approve ${id} --key "$(cat ws/keys/grace.key)" --reason "..."   (step-up: the second vote needs a login of its own; may decide: user:grace;`);
    expect(shown.stdout).not.toMatch(/^then:/m);
    const key = readFileSync(file('keys/grace.key'), 'utf8').trim();
    const second = await cli('-w', 'ws', 'approve', id!, '--key', key, '--reason', 'agreed');
    expect(second.stdout).toMatch(new RegExp(`approved ${id} by user:grace`));
  });
});
