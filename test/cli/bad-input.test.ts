// Bad input through the real CLI: every mistake exits 2 with a message that says where (file:line:col) and what.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { copyAcme } from '../helpers/workspace.js';
import { airlock, brokenWorkspace, requireBuild, type BrokenWorkspace } from './cli-helpers.js';

beforeAll(() => requireBuild());

/** A workspace copy removed when the test ends (per test: these tests run concurrently). */
function workspace(t: TestContext): BrokenWorkspace {
  const ws = brokenWorkspace();
  t.onTestFinished(() => ws.cleanup());
  return ws;
}

/** The store file of a workspace copy (store.path defaults to .airlock/airlock.db). */
const storeFile = (ws: BrokenWorkspace) => path.join(ws.dir, '.airlock', 'airlock.db');

describe.concurrent('the bundled example is valid', () => {
  it('`airlock validate examples/acme` exits 0', async () => {
    const r = await airlock(['validate', 'examples/acme']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: .*examples\/acme: 1 workflow\(s\), 16 tool contracts, \d+ policies/m);
  });

  it('`airlock policy test examples/acme` exits 0', async () => {
    const r = await airlock(['policy', 'test', 'examples/acme']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/FAIL/);
  });
});

describe.concurrent('bad workspace files: exit 2, file:line:col and what is wrong', () => {
  it('malformed airlock.yaml (YAML syntax)', async (t) => {
    const ws = workspace(t);
    const at = ws.edit('airlock.yaml', 'name: acme\n', 'name: acme: oops\n');
    const r = await airlock(['-w', ws.dir, 'validate']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    // The value that cannot be a compact nested mapping starts after `name: `.
    expect(r.stderr).toContain(`${path.join(ws.dir, 'airlock.yaml')}:${at.line}:${at.column + 'name: '.length}: invalid YAML`);
    expect(r.stderr).toMatch(/nested mappings are not allowed/);
    expect(r.stderr).toMatch(/hint: fix the YAML syntax/);
    // Every command that loads the workspace refuses the same way, and nothing is created.
    const run = await airlock(['-w', ws.dir, 'runs']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`airlock.yaml:${at.line}:`);
    expect(existsSync(path.join(ws.dir, '.airlock'))).toBe(false);
  });

  it('a tab used as indentation in airlock.yaml', async (t) => {
    const ws = workspace(t);
    const at = ws.edit('airlock.yaml', 'identity:\n', 'identity:\n\t- tab\n');
    const r = await airlock(['-w', ws.dir, 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`airlock.yaml:${at.line + 1}:1: invalid YAML: tabs are not allowed as indentation`);
  });

  it('a schema error in airlock.yaml names the line, column, path and the allowed values', async (t) => {
    const ws = workspace(t);
    const at = ws.edit('airlock.yaml', 'risk: high', 'risk: hgih');
    const r = await airlock(['-w', ws.dir, 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path.join(ws.dir, 'airlock.yaml')}:${at.line}:${at.column + 'risk: '.length} at \`tools[12].risk\`:`);
    expect(r.stderr).toMatch(/expected one of `low`, `medium`, `high`, `critical`, found the string `hgih`/);
  });

  it('an unknown key in airlock.yaml', async (t) => {
    const ws = workspace(t);
    const at = ws.edit('airlock.yaml', 'version: 1\n', 'version: 1\nbogus: 3\n');
    const r = await airlock(['-w', ws.dir, 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`airlock.yaml:${at.line + 1}:1 at \`bogus\`: unknown key \`bogus\``);
  });

  it('a schema error in a workflow file', async (t) => {
    const ws = workspace(t);
    const at = ws.edit('workflows/refund-desk.yaml', 'tier: execute-low', 'tier: execute-lots');
    const r = await airlock(['-w', ws.dir, 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`refund-desk.yaml:${at.line}:${at.column + 'tier: '.length} at \`tier\`:`);
    expect(r.stderr).toMatch(/`execute-lots`/);
  });

  it('a Cedar syntax error names the policy file, line and column', async (t) => {
    const ws = workspace(t);
    const at = ws.edit('policies/support.cedar', 'resource.effect == "read"', 'resource.effect == == "read"');
    const r = await airlock(['-w', ws.dir, 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`support.cedar:${at.line}:${at.column + 'resource.effect == '.length}: syntax error: unexpected token \`==\``);
    // The same error stops commands that would run anything.
    const run = await airlock(['-w', ws.dir, 'run', 'refund-desk', '--input', '{"ticket_id":"T-311"}']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/support\.cedar:\d+:\d+: syntax error/);
    expect(existsSync(path.join(ws.dir, '.airlock'))).toBe(false);
  });

  it('a policy that fails schema validation (unknown attribute) names the policy, place and attribute', async (t) => {
    const ws = workspace(t);
    const at = ws.edit('policies/support.cedar', 'resource.effect == "read"', 'resource.colour == "read"');
    const r = await airlock(['-w', ws.dir, 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`support.cedar:${at.line}:${at.column}: policy \`support-agent-read\`: attribute \`colour\``);
    expect(r.stderr).toMatch(/not found/);
  });

  it('a policy reading an argument field no contract exposes', async (t) => {
    const ws = workspace(t);
    const at = ws.edit('policies/support.cedar', 'contains(context.args.status)', 'contains(context.args.statuz)');
    const r = await airlock(['-w', ws.dir, 'policy', 'test']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`support.cedar:${at.line}:${at.column + 'contains('.length}:`);
    expect(r.stderr).toMatch(/`args\.statuz`.*not found/);
  });
});

describe.concurrent('bad command-line input: exit 2 and what is wrong', () => {
  it('`run` with an unknown workflow', async (t) => {
    const ws = workspace(t);
    const r = await airlock(['-w', ws.dir, 'run', 'no-such-flow', '--input', '{}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/workflow `no-such-flow` is not declared/);
    expect(r.stderr).toMatch(/hint: declared workflows: refund-desk/);
  });

  it.for([
    ['{ticket_id: T-311}', /--input is not valid JSON/],
    ['[1,2]', /--input must be a JSON object/],
    ['"T-311"', /--input must be a JSON object/],
  ] as const)('`run --input %s`', async ([input, message], t) => {
    const ws = workspace(t);
    const r = await airlock(['-w', ws.dir, 'run', 'refund-desk', '--input', input]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    // Refused before anything was opened or written.
    expect(existsSync(path.join(ws.dir, '.airlock'))).toBe(false);
  });

  it('`approve` of an unknown approval id', async (t) => {
    const ws = workspace(t);
    const r = await airlock(['-w', ws.dir, 'approve', 'apr_000000000000', '--as', 'dana']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/approval `apr_000000000000` does not exist/);
    expect(r.stderr).toMatch(/hint: list pending approvals/);
  });

  it('`approve --as` a principal the workspace does not declare', async (t) => {
    const ws = workspace(t);
    const r = await airlock(['-w', ws.dir, 'approve', 'apr_000000000000', '--as', 'mallory']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/principal `mallory` is not declared in the workspace/);
    expect(r.stderr).toMatch(/declared: .*user:dana/);
  });

  it('`policy explain` with an unknown tool', async (t) => {
    const ws = workspace(t);
    const r = await airlock(['-w', ws.dir, 'policy', 'explain', '--as', 'agent:refund-bot', '--tool', 'payments.steal']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tool `payments\.steal` is not declared/);
    expect(r.stderr).toMatch(/hint: declared: .*payments\.refund/);
  });

  it('`policy explain` with arguments that are not JSON', async (t) => {
    const ws = workspace(t);
    const r = await airlock(['-w', ws.dir, 'policy', 'explain', '--as', 'agent:refund-bot', '--tool', 'payments.refund', '--args', '{amount: 1}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--args is not valid JSON/);
  });

  const refund = { order_id: '1182', amount_cents: 4000, currency: 'EUR', reason: 'broken' };
  it.for([
    ['an undeclared principal', ['--as', 'agent:refundbot', '--args', JSON.stringify(refund)], /principal `agent:refundbot` is not declared.*\n.*declared: agent:refund-bot/],
    ['a principal of no kind', ['--as', 'robot:refund-bot', '--args', JSON.stringify(refund)], /principal `robot:refund-bot` is not declared/],
    ['arguments the gateway would refuse', ['--as', 'refund-bot', '--args', JSON.stringify({ ...refund, amount_cents: '4000' })], /--args do not fit the contract of `payments\.refund`: .*argument `amount_cents` must be integer/],
  ] as const)('`policy explain` with %s', async ([, args, message], t) => {
    const ws = workspace(t);
    const r = await airlock(['-w', ws.dir, 'policy', 'explain', '--tool', 'payments.refund', ...args]);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('`policy explain` with a declared principal and complete arguments explains the decision (exit 0)', async (t) => {
    const ws = workspace(t);
    const r = await airlock(['-w', ws.dir, 'policy', 'explain', '--as', 'refund-bot', '--tool', 'payments.refund', '--args', JSON.stringify(refund)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^decision: approval \(single\)$/m);
    expect(r.stdout).toMatch(/`agent:refund-bot` calls `payments\.refund`/);
    expect(r.stdout).toMatch(/refund-needs-approval/);
  });

  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['runs', '--bogus'], /unknown option '--bogus'/],
    [['approve', 'apr_1'], /say who decides: --as USER, or --key with your own API key/],
    [['run'], /missing required argument 'workflow'/],
    [['usage', '--days', '0'], /--days must be a whole number from 1 to 366, not `0`/],
    [['usage', '--by', 'tool'], /--by must be one of workflow, principal, route, not `tool`/],
  ])('the command line refuses %j with exit 2', async (args, message) => {
    const r = await airlock(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('`audit export --out` into a missing folder, or onto a folder', async (t) => {
    const ws = workspace(t);
    const missing = path.join(ws.dir, 'no-such-folder', 'audit.jsonl');
    const r = await airlock(['-w', ws.dir, 'audit', 'export', '--out', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--out \`${missing}\`: the folder \`${path.dirname(missing)}\` does not exist`);
    const onFolder = await airlock(['-w', ws.dir, 'audit', 'export', '--out', path.join(ws.dir, 'policies')]);
    expect(onFolder.code).toBe(2);
    expect(onFolder.stderr).toMatch(/--out `.*policies` is a folder/);
  });

  it('a workspace folder without airlock.yaml', async (t) => {
    const ws = workspace(t);
    const r = await airlock(['-w', path.join(ws.dir, 'policies'), 'runs']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no `airlock\.yaml` in/);
  });
});

describe('`demo --reset` on a broken workspace', () => {
  it('refuses with exit 2 before resetting anything', async () => {
    const ws = copyAcme();
    try {
      const acme = new Database(ws.acmeDb);
      acme.prepare(`UPDATE tickets SET status = 'resolved' WHERE id = 'T-311'`).run();
      acme.close();
      const file = path.join(ws.dir, 'airlock.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace('risk: high', 'risk: hgih'));
      const r = await airlock(['-w', ws.dir, 'demo', '--reset']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/airlock\.yaml:\d+:\d+ at `tools\[12\]\.risk`/);
      expect(r.stdout).not.toMatch(/reset/);
      const after = new Database(ws.acmeDb, { readonly: true });
      try {
        expect(after.prepare(`SELECT status FROM tickets WHERE id = 'T-311'`).get()).toEqual({ status: 'resolved' });
      } finally {
        after.close();
      }
    } finally {
      ws.cleanup();
    }
  });
});

describe.concurrent('the store file', () => {
  it('corrupt: exit 2 naming the file, and the file is left exactly as it was', async (t) => {
    const ws = workspace(t);
    const garbage = Buffer.from('this is not an SQLite database, and Airlock must not overwrite it\n'.repeat(100));
    const file = storeFile(ws);
    ws.write('.airlock/airlock.db', garbage);
    for (const args of [['runs'], ['audit', 'verify'], ['run', 'refund-desk', '--input', '{"ticket_id":"T-311"}']]) {
      const r = await airlock(['-w', ws.dir, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`error: ${file}: store \`${file}\` is not a valid Airlock database`);
      expect(r.stderr).toMatch(/hint: .*restore this one from a backup/);
    }
    expect(readFileSync(file).equals(garbage)).toBe(true);
    // Nothing else was written next to it: no WAL, no audit key, no half-made state.
    expect(readdirSync(path.join(ws.dir, '.airlock'))).toEqual(['airlock.db']);
  });

  it('a damaged audit key is refused with exit 2', async (t) => {
    const ws = workspace(t);
    ws.write('.airlock/audit.key', 'short');
    const r = await airlock(['-w', ws.dir, 'runs']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/audit key `.*audit\.key` is 5 bytes, expected 32/);
    expect(ws.read('.airlock/audit.key')).toBe('short');
  });

  it('locked by another writer: readers still work, a writer exits 2 with a clear message within seconds, then works once released', async (t) => {
    const ws = workspace(t);
    const file = storeFile(ws);
    await (await openSqliteStore(file)).close();
    const holder = new Database(file);
    try {
      holder.exec('BEGIN EXCLUSIVE');
      // Readers are not blocked by a writer (WAL): listing runs still works.
      const reader = await airlock(['-w', ws.dir, 'runs'], { timeoutMs: 20_000 });
      expect(reader.code).toBe(0);
      expect(reader.stdout).toMatch(/no runs/);
      // A command that must write waits out the busy timeout, then says who holds the store.
      const r = await airlock(['-w', ws.dir, 'run', 'refund-desk', '--input', '{"ticket_id":"T-311"}'], { timeoutMs: 20_000 });
      // The store waits 5 s for the lock (busy timeout), then gives up: no hang (a hung command is
      // killed at the 20 s limit and would have a signal, no exit code and no message).
      expect(r.signal).toBeNull();
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`store \`${file}\` is locked by another process`);
      expect(r.stderr).toMatch(/hint: another Airlock process is holding a write lock/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    const after = await airlock(['-w', ws.dir, 'runs']);
    expect(after.stderr).toBe('');
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/no runs/);
  });
});
