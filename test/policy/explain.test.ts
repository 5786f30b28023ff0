// explainDecision: the decision, level, determining policies with file:line and reason, the hash.
import { describe, expect, it } from 'vitest';
import { compilePolicies } from '../../src/policy/compile.js';
import { decide } from '../../src/policy/decide.js';
import { explainDecision } from '../../src/policy/explain.js';
import { ACME_CONTRACTS, readSources, request, tool } from './fixtures.js';

describe('explainDecision', () => {
  const compiled = compilePolicies(readSources('examples/acme/policies', '.cedar'), ACME_CONTRACTS);

  it('explains an approval with its policy, source line, reason and hash', () => {
    const dana = { kind: 'user' as const, id: 'dana', roles: [] };
    const r = request(tool('payments.refund'), {
      onBehalfOf: dana,
      args: { order_id: '1182', amount_cents: 12000, currency: 'EUR', reason: 'broken' },
    });
    const text = explainDecision(decide(compiled, r), r, compiled);
    const p = compiled.policies.get('refund-needs-step-up');
    expect(text).toContain('decision: approval (step-up)');
    expect(text).toContain('`agent:refund-bot` calls `payments.refund` (financial, medium risk) on behalf of `user:dana`');
    expect(text).toContain('workflow `refund-desk`, tier `execute-low`, labels public/trusted');
    expect(text).toContain('args:     amount_cents=12000 currency="EUR"');
    expect(text).not.toContain('broken');
    expect(text).toContain(
      `- refund-needs-step-up (permit @approval(step-up)) at examples/acme/policies/refunds.cedar:${p?.line}: refunds above 50.00 need two approvers (step-up)`,
    );
    expect(text).toContain(`policy set: ${compiled.policySetHash}`);
  });

  it('explains a forbid and a deny by default', () => {
    const send = request(tool('mail.send'), { args: { to: 'audit@exfil-partner.example' } });
    const forbid = explainDecision(decide(compiled, send), send, compiled);
    expect(forbid).toContain('decision: deny');
    expect(forbid).toMatch(/- mail-internal-only \(forbid\) at examples\/acme\/policies\/egress.cedar:\d+: egress blocked/);

    const rogue = request(tool('orders.get_order'), { principal: { kind: 'agent', id: 'rogue', roles: [] } });
    const byDefault = explainDecision(decide(compiled, rogue), rogue, compiled);
    expect(byDefault).toContain('policies: none');
    expect(byDefault).toContain('args:     (none exposed to policy)');
    expect(byDefault).toContain('- no policy permits `agent:rogue` to call `orders.get_order`');
  });

  it('prints bare ids without the compiled set', () => {
    const r = request(tool('tickets.comment'), { tier: 'assist' });
    const text = explainDecision(decide(compiled, r), r);
    expect(text).toContain('decision: suggest');
    expect(text).toContain('  - support-agent-ticket-comment\n');
    expect(text).toContain('tier `assist`');
  });
});
