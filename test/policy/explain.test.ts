// explainDecision: the decision, level, determining policies with file:line and reason, the hash.
import { describe, expect, it } from 'vitest';
import { compilePolicies } from '../../src/policy/compile.js';
import { decide } from '../../src/policy/decide.js';
import { explainDecision, matchingPolicies } from '../../src/policy/explain.js';
import { ACME_CONTRACTS, ACME_PRINCIPALS, CALL, readSources, request, tool } from './fixtures.js';

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

  describe('every matching policy, and which one decided', () => {
    const overlapping = compilePolicies(
      [
        {
          file: 'p.cedar',
          text: [
            `@id("comment-single")\n@approval("single")\npermit (principal in Airlock::Role::"support-agent", ${CALL}, resource == Airlock::Tool::"tickets.comment");`,
            `@id("comment-step-up")\n@approval("step-up")\n@reason("comments by agents need two people")\npermit (principal in Airlock::Role::"support-agent", ${CALL}, resource == Airlock::Tool::"tickets.comment");`,
            `@id("comment-plain")\npermit (principal, ${CALL}, resource == Airlock::Tool::"tickets.comment");`,
            `@id("status-a")\npermit (principal, ${CALL}, resource == Airlock::Tool::"tickets.set_status");`,
            `@id("status-b")\npermit (principal in Airlock::Role::"support-agent", ${CALL}, resource == Airlock::Tool::"tickets.set_status");`,
            `@id("no-closing")\n@reason("agents do not close tickets")\nforbid (principal, ${CALL}, resource == Airlock::Tool::"tickets.set_status") when { context.args has status && context.args.status == "resolved" };`,
          ].join('\n'),
        },
      ],
      ACME_CONTRACTS,
      { principals: ACME_PRINCIPALS },
    );

    it('lists all matching permits and marks the strictest obligation as the decider', () => {
      const r = request(tool('tickets.comment'));
      const d = decide(overlapping, r);
      expect(d).toMatchObject({ kind: 'approval', level: 'step-up' });
      const text = explainDecision(d, r, overlapping);
      expect(text).toContain('policies: 3 permits and 0 forbids matched');
      expect(text).toMatch(/^ {2}- comment-step-up \(permit @approval\(step-up\)\) at p\.cedar:\d+: comments by agents need two people {2}← decided: its @approval\(step-up\) is the strictest \(the strictest obligation wins\)$/m);
      expect(text).toMatch(/^ {2}- comment-single \(permit @approval\(single\)\) at p\.cedar:\d+$/m);
      expect(text).toMatch(/^ {2}- comment-plain \(permit\) at p\.cedar:\d+$/m);
      expect(text).toContain('decided:  `comment-step-up` with @approval(step-up), the strictest of 3 matching permits');
    });

    it('says when the tier, not a policy, set the obligation', () => {
      const r = request(tool('tickets.set_status'), { tier: 'prepare', args: { status: 'pending' } });
      const text = explainDecision(decide(overlapping, r), r, overlapping);
      expect(text).toContain('decision: approval (single)');
      expect(text).toContain('policies: 2 permits and 0 forbids matched');
      expect(text).toContain('decided:  the 2 matching permits, none asking for approval; then the tier raised it to approval (single)');
    });

    it('shows the permits a matching forbid overrode, and the forbid as the decider', () => {
      expect(matchingPolicies(overlapping, request(tool('tickets.set_status'), { args: { status: 'resolved' } }))).toEqual({
        permits: ['status-a', 'status-b'],
        forbids: ['no-closing'],
      });
      const r = request(tool('tickets.set_status'), { args: { status: 'resolved' } });
      const d = decide(overlapping, r);
      expect(d.basis.policyIds).toEqual(['no-closing']);
      const text = explainDecision(d, r, overlapping);
      expect(text).toContain('policies: 2 permits and 1 forbid matched');
      expect(text).toMatch(/- no-closing \(forbid\) at p\.cedar:\d+: agents do not close tickets {2}← decided \(a matching forbid overrides every permit\)/);
      expect(text).toMatch(/- status-a \(permit\) at p\.cedar:\d+ {2}\(overridden by the forbid\)/);
      expect(text).toContain('decided:  the forbid `no-closing`');
    });

    it('names Airlock’s own rule when it, not a policy, denied', () => {
      const r = request(tool('mail.send'), { args: { to: 'x@acme.example' } });
      const blanket = compilePolicies([{ file: 'b.cedar', text: `@id("all")\npermit (principal, ${CALL}, resource);` }], ACME_CONTRACTS);
      const text = explainDecision(decide(blanket, r), r, blanket);
      expect(text).toContain('policies: 1 permit and 0 forbids matched');
      expect(text).toMatch(/decided: {2}`mail\.send` has effect `egress`, which needs an explicit permit/);
    });
  });
});
