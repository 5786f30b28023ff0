// `airlock init` through the real CLI: both kinds validate as written, nothing is ever overwritten, a
// gateway needs no model, and `tools import` drafts contracts on a fresh gateway from real MCP servers,
// with a table of what each means at the workflow's tier that agrees with the policy decision itself.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAndCompile } from '../../src/airlock.js';
import { decide } from '../../src/policy/decide.js';
import { tierMeaning } from '../../src/cli/tier-table.js';
import { withRaisedRisk } from '../../src/config/checks.js';
import { TIERS, type Decision } from '../../src/types.js';
import { airlock, REPO_ROOT, requireBuild } from './cli-helpers.js';

const MEMORY = path.join(REPO_ROOT, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');
const EVERYTHING = path.join(REPO_ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

let root: string;
beforeAll(() => {
  requireBuild();
  root = mkdtempSync(path.join(os.tmpdir(), 'airlock-init-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `airlock ...` from the temp root, so printed commands read `airlock -w NAME ...`. */
const cli = (...args: string[]) => airlock(args, { cwd: root, timeoutMs: 60_000 });
const read = (rel: string): string => readFileSync(path.join(root, rel), 'utf8');
const write = (rel: string, text: string): void => writeFileSync(path.join(root, rel), text);
const edit = (rel: string, from: string, to: string): void => {
  const text = read(rel);
  expect(text.split(from).length - 1, `\`${from}\` once in ${rel}`).toBe(1);
  write(rel, text.replace(from, to));
};
/** Every file under `dir`, relative, sorted (the store's folder left out). */
const filesIn = (dir: string): string[] =>
  readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(path.join(root, dir), path.join(e.parentPath, e.name)))
    .filter((f) => !f.startsWith('.airlock/') || f === '.airlock/.gitignore')
    .sort();

const OWNERS = 'owners:\n  product: p@example.com\n  architecture: a@example.com\n  platform: pl@example.com\n  security: s@example.com\n  domain: d@example.com\n  compliance: c@example.com';

describe('airlock init', () => {
  it('writes a gateway workspace that validates as written, with no model, and prints the next commands', async () => {
    const r = await cli('init', 'gw', '--kind', 'gateway', '--user', 'ada');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(filesIn('gw')).toEqual(['.airlock/.gitignore', 'airlock.yaml', 'policies/approvers.cedar', 'policies/starter.cedar', 'workflows/main.yaml']);
    expect(r.stdout).toMatch(/^ok: gateway workspace in /m);
    expect(r.stdout).toMatch(/^ {2}airlock -w gw validate /m);
    expect(r.stdout).toMatch(/^ {2}\(edit gw\/airlock.yaml\) +add your MCP server under `connectors:`/m);
    expect(r.stdout).toMatch(/^ {2}airlock -w gw tools import CONNECTOR --out CONNECTOR.draft.yaml /m);
    expect(r.stdout).toMatch(/^ {2}airlock -w gw serve /m);
    expect(read('gw/airlock.yaml')).not.toMatch(/^models:/m);
    expect(read('gw/workflows/main.yaml')).not.toMatch(/^model:/m);
    const v = await cli('validate', 'gw');
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/ok: .*gw: 1 workflow\(s\), 0 tool contracts, 2 policies/);
    // Editors find the shipped JSON Schemas from the comment on the first line.
    const schemaRef = /\$schema=(\S+)/.exec(read('gw/workflows/main.yaml'))?.[1];
    expect(readFileSync(path.resolve(root, 'gw/workflows', schemaRef!), 'utf8')).toContain('"$schema"');
  });

  it('writes an agent workspace whose scripted playbook runs to the end', async () => {
    const r = await cli('init', 'ag', '--kind', 'agent');
    expect(r.code).toBe(0);
    expect(filesIn('ag')).toEqual(['.airlock/.gitignore', 'airlock.yaml', 'playbooks/main.yaml', 'policies/approvers.cedar', 'policies/starter.cedar', 'workflows/main.yaml']);
    expect(r.stdout).toMatch(/^ {2}airlock -w ag run main --input '\{\}' /m);
    expect((await cli('validate', 'ag')).code).toBe(0);
    const run = await cli('-w', 'ag', 'run', 'main', '--input', '{}');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^run run_[0-9a-f]+: completed$/m);
  });

  it('never overwrites: exit 2 naming each file that exists, and nothing is written', async () => {
    const before = read('gw/airlock.yaml');
    const again = await cli('init', 'gw', '--kind', 'agent');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/`gw` already holds `airlock.yaml`, `policies\/starter.cedar`, `policies\/approvers.cedar`, `workflows\/main.yaml`, `.airlock\/.gitignore`: `airlock init` never overwrites a file/);
    expect(read('gw/airlock.yaml')).toBe(before);
    expect(filesIn('gw')).not.toContain('playbooks/main.yaml');

    // One file in the way is enough to write nothing at all.
    mkdirSync(path.join(root, 'partial', 'workflows'), { recursive: true });
    write('partial/workflows/main.yaml', 'mine\n');
    const partial = await cli('init', 'partial', '--kind', 'gateway');
    expect(partial.code).toBe(2);
    expect(partial.stderr).toMatch(/`partial` already holds `workflows\/main.yaml`:/);
    expect(filesIn('partial')).toEqual(['workflows/main.yaml']);
    expect(read('partial/workflows/main.yaml')).toBe('mine\n');
  });

  it('refuses a missing or unknown --kind and a bad --name with exit 2', async () => {
    expect((await cli('init', 'x1')).code).toBe(2);
    const kind = await cli('init', 'x2', '--kind', 'server');
    expect(kind.code).toBe(2);
    expect(kind.stderr).toMatch(/gateway.*agent/);
    const name = await cli('init', 'x3', '--kind', 'agent', '--name', 'Not A Name');
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/--name `Not A Name` is not a valid name/);
  });

  it('a workflow without a model cannot be run by Airlock\'s own loop: exit 2, and no run is recorded', async () => {
    const r = await cli('-w', 'gw', 'run', 'main', '--input', '{}');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/workflow `main` names no `model`, so Airlock's own agent loop cannot run it/);
    expect(r.stderr).toMatch(/airlock serve/);
    expect((await cli('-w', 'gw', 'runs')).stdout).toMatch(/no runs yet/);
  });
});

describe('`tools import` on a fresh gateway workspace, from real MCP servers', () => {
  beforeAll(async () => {
    expect((await cli('init', 'fresh', '--kind', 'gateway', '--user', 'ada')).code).toBe(0);
    // Only a connector is added to what `airlock init` wrote.
    edit(
      'fresh/airlock.yaml',
      'connectors: {}',
      `connectors:\n  memory:\n    kind: mcp-stdio\n    command: "\${node}"\n    args: [${JSON.stringify(MEMORY)}]\n    env: { MEMORY_FILE_PATH: "\${workspace}/.airlock/memory.jsonl" }\n` +
        `  everything:\n    kind: mcp-stdio\n    command: "\${node}"\n    args: [${JSON.stringify(EVERYTHING)}, stdio]`,
    );
  });

  it('drafts every tool and prints what each means at the workflow\'s tier', async () => {
    const r = await cli('-w', 'fresh', 'tools', 'import', 'memory', '--out', 'fresh/memory.draft.yaml');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: 9 draft contract\(s\) for connector memory written to fresh\/memory.draft.yaml/m);
    expect(r.stdout).toMatch(/^tool +effect +risk +at assist \(main\)$/m);
    expect(r.stdout).toMatch(/^memory.read_graph +read +medium +runs$/m);
    expect(r.stdout).toMatch(/^memory.create_entities +write +high \(medium, irreversible\) +suggested only, never runs$/m);
    expect(r.stdout).toMatch(/^memory.delete_entities +destructive +high +suggested only, never runs$/m);
    expect(r.stdout).toMatch(/deny by default until one does/);
    // The same table heads the draft file, as comments.
    expect(read('fresh/memory.draft.yaml')).toMatch(/^# {3}memory.delete_entities +destructive +high +suggested only, never runs$/m);
    expect((await cli('-w', 'fresh', 'tools', 'import', 'everything', '--out', 'fresh/everything.draft.yaml')).code).toBe(0);
  });

  it('the reviewed drafts load strictly: moved under `tools:` and into the workflow, `validate` passes at every tier the table allows', async () => {
    const drafts = ['memory', 'everything'].flatMap((c) => (parse(read(`fresh/${c}.draft.yaml`)) as { tools: { name: string }[] }).tools);
    const ws = parseDocument(read('fresh/airlock.yaml'));
    ws.set('tools', drafts);
    write('fresh/airlock.yaml', ws.toString());
    write('fresh/workflows/main.yaml', read('fresh/workflows/main.yaml').replace(/^owners: \{\}$/m, OWNERS));
    edit('fresh/workflows/main.yaml', 'tools: []', `tools: [${drafts.map((d) => d.name).join(', ')}]`);
    for (const tier of ['assist', 'prepare', 'execute-low']) {
      write('fresh/workflows/main.yaml', read('fresh/workflows/main.yaml').replace(/^tier: .*$/m, `tier: ${tier}`));
      const v = await cli('validate', 'fresh');
      expect(v.stderr, tier).toBe('');
      expect(v.stdout).toMatch(/1 workflow\(s\), 22 tool contracts/);
    }
    // At execute-high the table says the high-risk drafts are not listable; loading agrees.
    write('fresh/workflows/main.yaml', read('fresh/workflows/main.yaml').replace(/^tier: .*$/m, 'tier: execute-high'));
    const high = await cli('validate', 'fresh');
    expect(high.code).toBe(2);
    expect(high.stderr).toMatch(/tool `memory.delete_entities` is a `high`-risk `destructive` tool without a second path/);
  });

  it('each cell of the table is what the policy decision says once a policy permits the call', async () => {
    // A policy set that permits every call, naming each tool whose effect needs an explicit permit.
    write('fresh/workflows/main.yaml', read('fresh/workflows/main.yaml').replace(/^tier: .*$/m, 'tier: execute-low'));
    const { workspace } = await loadAndCompile(path.join(root, 'fresh'));
    const tools = [...workspace.tools.values()];
    const explicit = tools.filter((t) => ['destructive', 'egress', 'financial'].includes(t.effect));
    write(
      'fresh/policies/starter.cedar',
      `permit (principal, action == Airlock::Action::"call", resource);\n` +
        explicit.map((t) => `permit (principal, action == Airlock::Action::"call", resource == Airlock::Tool::"${t.name}");\n`).join(''),
    );
    const { workspace: ws, compiled } = await loadAndCompile(path.join(root, 'fresh'));
    const compensations = new Set<string>();
    const principal = { kind: 'agent' as const, id: 'assistant', roles: ['assistant'] };
    let compared = 0;
    for (const tool of ws.tools.values()) {
      for (const tier of TIERS) {
        const cell = tierMeaning(tool, tier, compensations);
        if (cell.startsWith('not listable')) {
          expect(tier).toBe('execute-high');
          expect(withRaisedRisk(tool, compensations).risk).toBe('high');
          continue;
        }
        const d: Decision = decide(compiled, { principal, tool, workflow: 'main', tier, args: {}, labels: { classification: 'internal', trust: 'trusted' } });
        const expected = d.kind === 'allow' ? /^runs/ : d.kind === 'suggest' ? /^suggested only/ : d.kind === 'deny' ? /^never/ : d.level === 'step-up' ? /^step-up/ : /^one approval/;
        expect(cell, `${tool.name} at ${tier}: decide says ${JSON.stringify(d)}`).toMatch(expected);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(60);
  });
});
