// The YAML policy test runner: passing and failing cases, gateway-style resolution, file errors.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AirlockErrors } from '../../src/errors.js';
import { compilePolicies } from '../../src/policy/compile.js';
import { formatPolicyTestReport, parsePolicyTestFile, runPolicyTests } from '../../src/policy/policy-tests.js';
import { ACME_CONTRACTS, ACME_PRINCIPALS, CALL, workspace } from './fixtures.js';

const compiled = compilePolicies(
  [
    {
      file: 'p.cedar',
      text:
        `@id("read")\npermit (principal in Airlock::Role::"support-agent", ${CALL}, resource) when { resource.effect == "read" };\n` +
        `@id("refund")\n@approval("single")\npermit (principal in Airlock::Role::"support-agent", ${CALL}, resource == Airlock::Tool::"payments.refund");`,
    },
  ],
  ACME_CONTRACTS,
  { principals: ACME_PRINCIPALS },
);
const ws = workspace();

function errorsOf(fn: () => unknown): AirlockErrors {
  try {
    fn();
  } catch (e) {
    if (e instanceof AirlockErrors) return e;
    throw e;
  }
  throw new Error('expected AirlockErrors');
}

describe('runPolicyTests', () => {
  it('passes matching cases and fails others with a diff', () => {
    const text = `cases:
  - name: refund needs one approver
    request:
      principal: agent:refund-bot
      tool: payments.refund
      workflow: refund-desk
      args: { amount_cents: 100 }
    expect: { decision: approval, level: single, policies: [refund] }
  - name: wrong expectation
    request: { principal: refund-bot, tool: payments.refund, workflow: refund-desk, tier: execute-high }
    expect: { decision: approval, level: step-up, policies: [refund, nope], reason: never said }
`;
    const report = runPolicyTests(compiled, ws, [{ file: 't.yaml', text }]);
    expect(report.passed).toBe(1);
    expect(report.failed).toBe(1);
    expect(report.results[0]).toMatchObject({ name: 'refund needs one approver', passed: true, line: 2, file: 't.yaml' });
    const failed = report.results[1];
    expect(failed?.line).toBe(9);
    expect(failed?.message).toBe(
      [
        'expected approval (step-up), got approval (single)',
        'expected policy `nope` among the determining policies, but no policy has that id',
        'expected a reason containing `never said`',
        'determining policies: `refund`',
        'reasons: permitted by policy `refund`',
      ].join('\n'),
    );
    expect(formatPolicyTestReport(report)).toMatch(/^ok   t.yaml:2 refund needs one approver\nFAIL t.yaml:9 wrong expectation\n {5}expected approval/);
    expect(formatPolicyTestReport(report).endsWith('1 passed, 1 failed')).toBe(true);
  });

  it('resolves requests the way the gateway does', () => {
    const text = `cases:
  - name: undeclared tool
    request: { principal: agent:refund-bot, tool: payments.wire, workflow: refund-desk }
    expect: { decision: deny, reason: not declared }
  - name: tool outside the workflow
    request: { principal: agent:refund-bot, tool: x.read, workflow: refund-desk }
    expect: { decision: deny, reason: not part of workflow }
  - name: undeclared principal has no roles
    request: { principal: agent:ghost, tool: orders.get_order, workflow: refund-desk }
    expect: { decision: deny, reason: deny by default }
  - name: a declared id without a kind
    request: { principal: refund-bot, tool: orders.get_order, workflow: refund-desk }
    expect: { decision: allow, policies: [read] }
  - name: a write with no permit is denied
    request: { principal: agent:refund-bot, tool: tickets.comment, workflow: refund-desk, tier: prepare }
    expect: { decision: deny }
  - name: unknown workflow
    request: { principal: agent:refund-bot, tool: orders.get_order, workflow: nope }
    expect: { decision: allow }
  - name: unknown bare principal
    request: { principal: ghost, tool: orders.get_order, workflow: refund-desk }
    expect: { decision: deny }
`;
    const extra = { ...ACME_CONTRACTS[0]!, name: 'x.read' };
    const w = workspace({ contracts: [...ACME_CONTRACTS, extra] });
    const report = runPolicyTests(compiled, w, [{ file: 't.yaml', text }]);
    expect(report.results.map((r) => [r.name, r.passed])).toEqual([
      ['undeclared tool', true],
      ['tool outside the workflow', true],
      ['undeclared principal has no roles', true],
      ['a declared id without a kind', true],
      ["a write with no permit is denied", true],
      ['unknown workflow', false],
      ['unknown bare principal', false],
    ]);
    expect(report.results[5]?.message).toBe('unknown workflow `nope` (declared: `refund-desk`)');
    expect(report.results[6]?.message).toMatch(/^unknown principal `ghost`; write `kind:id`/);
  });

  it('reports invalid yaml with file, line and column', () => {
    const e = errorsOf(() => parsePolicyTestFile({ file: 'bad.yaml', text: 'cases:\n  - name: a\n    request: {principal: x\n' }));
    expect(e.errors[0]?.code).toBe('policy');
    expect(e.errors[0]?.message).toMatch(/^invalid yaml: /);
    expect(e.errors[0]?.location).toMatchObject({ file: 'bad.yaml', line: expect.any(Number), column: expect.any(Number) });
  });

  it('reports a bad shape at the offending node, every problem at once', () => {
    const text = `cases:
  - name: a
    request: { principal: agent:refund-bot, tool: orders.get_order, workflow: refund-desk, tier: turbo }
    expect: { decision: maybe }
  - name: b
    request: { principal: agent:refund-bot, tool: orders.get_order, workflow: refund-desk }
    expect: { decision: allow, level: single }
    extra: 1
`;
    const e = errorsOf(() => runPolicyTests(compiled, ws, [{ file: 's.yaml', text }]));
    const found = e.errors.map((x) => [x.location?.path, x.location?.line]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['cases[0].request.tier', 3],
        ['cases[0].expect.decision', 4],
        ['cases[1].expect.level', 7],
        ['cases[1]', 5],
      ]),
    );
    expect(e.errors.find((x) => x.location?.path === 'cases[1].expect.level')?.message).toBe(
      '`level` only applies to `decision: approval`',
    );
  });

  it('rejects duplicate case names', () => {
    const c = `  - name: same\n    request: { principal: agent:refund-bot, tool: orders.get_order, workflow: refund-desk }\n    expect: { decision: allow }\n`;
    const e = errorsOf(() => parsePolicyTestFile({ file: 'd.yaml', text: `cases:\n${c}${c}` }));
    expect(e.errors.map((x) => [x.message, x.location?.line])).toEqual([['duplicate case name `same`', 5]]);
  });
});

describe('the example workspaces', () => {
  it.each(['acme', 'mcp-gateway', 'sdk-agent'])('%s: every policy test passes, approver and grant cases included', async (name) => {
    const { loadAndCompile } = await import('../../src/airlock.js');
    const { workspace: w, compiled: c } = await loadAndCompile(`examples/${name}`);
    const files = (w.policyTestFiles ?? []).map((f) => ({ file: f, text: readFileSync(path.join(w.dir, f), 'utf8') }));
    const report = runPolicyTests(c, w, files);
    expect(formatPolicyTestReport(report)).toMatch(/ 0 failed$/);
    if (name === 'acme') expect(report.results.some((r) => r.name.includes('support lead may not approve a refund'))).toBe(true);
  });

  it('an approve or grant case is decided allow or deny, and a grant case needs its duration', () => {
    const text = `cases:
  - name: g
    request: { action: grant, principal: user:dana, tool: payments.refund, workflow: refund-desk }
    expect: { decision: approval }
`;
    const e = errorsOf(() => parsePolicyTestFile({ file: 'g.yaml', text }));
    expect(e.errors.map((x) => x.message).join('\n')).toMatch(/needs `grant: \{ durationMinutes \}`/);
    expect(e.errors.map((x) => x.message).join('\n')).toMatch(/decided `allow` or `deny`/);
  });
});
