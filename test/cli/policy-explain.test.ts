// `airlock policy explain` through the real CLI: every matching policy, and which one decided.
import { beforeAll, describe, expect, it } from 'vitest';
import { airlock, brokenWorkspace, requireBuild } from './cli-helpers.js';

beforeAll(() => requireBuild());

describe('airlock policy explain', () => {
  it('shows both permits when two match, marks the stricter obligation as the decider, and exits 0', async () => {
    const ws = brokenWorkspace();
    try {
      ws.write(
        'policies/overlap.cedar',
        [
          '@id("refunds-need-reauth")',
          '@approval("reauth")',
          '@reason("refunds up to 100.00 need a freshly signed-in approver")',
          'permit (principal in Airlock::Role::"support-agent", action == Airlock::Action::"call", resource == Airlock::Tool::"payments.refund")',
          'when { context.args has amount_cents && context.args.amount_cents <= 10000 };',
        ].join('\n'),
      );
      const args = JSON.stringify({ order_id: '1182', amount_cents: 4000, currency: 'EUR', reason: 'broken' });
      const r = await airlock(['-w', ws.dir, 'policy', 'explain', '--as', 'refund-bot', '--tool', 'payments.refund', '--args', args]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^decision: approval \(reauth\)$/m);
      expect(r.stdout).toMatch(/^policies: 2 permits and 0 forbids matched$/m);
      expect(r.stdout).toMatch(/^ {2}- refund-needs-approval \(permit @approval\(single\)\) at policies\/refunds\.cedar:\d+: refunds up to 50\.00 need one approver$/m);
      expect(r.stdout).toMatch(/^ {2}- refunds-need-reauth \(permit @approval\(reauth\)\) at policies\/overlap\.cedar:1: .* {2}← decided: its @approval\(reauth\) is the strictest \(the strictest obligation wins\)$/m);
      expect(r.stdout).toMatch(/^decided: {2}`refunds-need-reauth` with @approval\(reauth\), the strictest of 2 matching permits$/m);
    } finally {
      ws.cleanup();
    }
  });
});
