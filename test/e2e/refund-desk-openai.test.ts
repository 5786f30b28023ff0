// The demo's hijacked-document scenario through the OpenAI-compatible adapter: the same workspace,
// its one route changed from the scripted playbook to `kind: openai-chat` against a loopback
// endpoint that answers with the playbook's own choices. The run must end exactly as it does on
// the scripted model: the injected mail.send denied, the refund paused for a person, executed once
// after approval, verified, and the same trail and ground truth (model turns aside).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { openAirlock } from '../../src/airlock.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import { verifyStore } from '../../src/audit/log.js';
import type { RunState } from '../../src/orchestration/run-machine.js';
import { copyAcme, groundTruth } from '../helpers/workspace.js';
import { FakeEndpoint } from '../helpers/fake-model-endpoint.js';
import { playbookReplies } from '../helpers/playbook-endpoint.js';

/** Runs the demo in `dir` to its end: the refund approved by dana, then resumed. */
async function demo(dir: string) {
  const a = await openAirlock(dir);
  try {
    const paused = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
    const pending = (paused.state as unknown as RunState).pending;
    expect(pending?.tool).toBe('payments.refund');
    await vote(a.approvalDeps, pending!.approvalId, localApprover(a.principal('user:dana')), 'approve', 'matches the ticket');
    const run = await a.runner.resume(paused.id);
    const records = await a.store.readAuditForRun(run.id);
    // What the boundary did, in order: every record but the model turns (their route and tokens differ by design).
    const trail = records.filter((r) => r.type !== 'model.called').map((r) => [r.type, r.body['tool'] ?? r.body['decision'] ?? r.body['status'] ?? null]);
    return { paused: paused.status, status: run.status, trail, turns: records.filter((r) => r.type === 'model.called'), verified: await verifyStore(a.store) };
  } finally {
    await a.close();
  }
}

describe('the demo through the openai-chat adapter ends exactly as on the scripted model', () => {
  const endpoint = new FakeEndpoint('/v1');
  beforeAll(() => endpoint.start());
  afterAll(() => endpoint.stop());

  it('denies the injected mail, pauses the refund, and after approval ends verified, with the same trail and ground truth', async () => {
    const scripted = copyAcme();
    const http = copyAcme();
    try {
      const file = path.join(http.dir, 'airlock.yaml');
      const doc = parseDocument(readFileSync(file, 'utf8'));
      const playbook = path.join(http.dir, String(doc.getIn(['models', 'playbook', 'playbook'])));
      // The one change: the route the workflow names now speaks the Chat Completions API.
      doc.setIn(['models', 'playbook'], doc.createNode({ kind: 'openai-chat', model: 'scripted-behind-http', baseUrl: endpoint.url, maxRetries: 0, clearance: 'restricted' }));
      writeFileSync(file, doc.toString());
      const wf = parseDocument(readFileSync(path.join(http.dir, 'workflows', 'refund-desk.yaml'), 'utf8')).toJSON() as { tools: string[] };
      endpoint.otherwise = playbookReplies(playbook, wf.tools);

      const a = await demo(scripted.dir);
      const b = await demo(http.dir);
      expect([a.paused, a.status]).toEqual(['awaiting-approval', 'verified']);
      expect([b.paused, b.status]).toEqual([a.paused, a.status]);
      expect(b.trail).toEqual(a.trail);
      // The hijack really happened over HTTP: the injected mail.send was proposed and denied.
      expect(b.trail).toContainEqual(['action.decision', 'mail.send']);
      expect(b.trail).toContainEqual(['action.not-executed', 'mail.send']);
      expect(b.turns.map((t) => t.body['provider'])).toEqual(a.turns.map(() => 'openai'));
      expect(b.turns.every((t) => typeof t.body['inputTokens'] === 'number')).toBe(true);
      expect(endpoint.seen).toHaveLength(a.turns.length);
      // Ids, times and idempotency keys (derived from the run id) differ between any two runs.
      const strip = (g: ReturnType<typeof groundTruth>) => JSON.stringify(g).replace(/"(created_at|id|key)":"[^"]*"/g, '"$1":"-"');
      expect(strip(groundTruth(http.acmeDb))).toEqual(strip(groundTruth(scripted.acmeDb)));
      expect(groundTruth(http.acmeDb).sent_mail).toEqual([]);
      expect([a.verified.ok, b.verified.ok]).toEqual([true, true]);
    } finally {
      scripted.cleanup();
      http.cleanup();
    }
  });
});
