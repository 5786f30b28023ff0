// The kill switch in the web console: every page says what is halted, by whom and why, while it holds;
// approving from the console is refused with the halt's reason, and the banner goes once it is lifted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import type { Airlock } from '../../src/airlock.js';
import { localApprover } from '../../src/gateway/approvals/vote.js';
import { liftHalt, stopScope } from '../../src/gateway/halt-control.js';
import type { ApprovalRecord } from '../../src/store/store.js';
import type { copyAcme } from '../helpers/workspace.js';
import { consoleOnAcme, signIn } from './helpers.js';

describe('the console while a scope is halted', () => {
  let ws: ReturnType<typeof copyAcme>;
  let airlock: Airlock;
  let app: Hono;
  let approval: ApprovalRecord;

  beforeAll(async () => {
    let run;
    ({ ws, airlock, app, run } = await consoleOnAcme());
    approval = (await airlock.store.listApprovals({ status: 'pending', runId: run.id }))[0] as ApprovalRecord;
  });
  afterAll(async () => {
    await airlock?.close();
    ws?.cleanup();
  });

  it('shows the halt on every page, refuses approving, and drops the banner once an owner lifts it', async () => {
    const dana = await signIn(app, 'dana', 'dana-demo');
    expect(await (await dana.get('/console/runs')).text()).not.toContain('class="halts"');
    const stopped = await stopScope(airlock, localApprover(airlock.principal('user:dana')), { kind: 'workflow', name: 'refund-desk' }, 'refunds landing on the wrong orders');
    if (stopped.kind !== 'stopped') throw new Error(stopped.kind);
    for (const page of ['/console/approvals', '/console/runs', `/console/approvals/${approval.id}`]) {
      const html = await (await dana.get(page)).text();
      expect(html).toContain('class="halts" role="alert"');
      expect(html).toContain('Halted: workflow `refund-desk`');
      expect(html).toContain('by user:dana at ');
      expect(html).toContain('refunds landing on the wrong orders');
    }
    const vote = await dana.post(`/console/approvals/${approval.id}`, { action: 'approve', reason: 'matches the ticket' });
    expect(vote.status).toBe(409);
    expect(await vote.text()).toContain('halted: workflow `refund-desk` was stopped by `user:dana`');
    expect((await airlock.store.getApproval(approval.id))?.status).toBe('pending');

    expect((await liftHalt(airlock, localApprover(airlock.principal('user:dana')), stopped.halt.id, 'fixed')).kind).toBe('lifted');
    expect(await (await dana.get('/console/runs')).text()).not.toContain('class="halts"');
  });
});
