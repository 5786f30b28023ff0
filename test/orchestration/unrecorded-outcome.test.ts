// A call that ran upstream whose outcome record could not be written: the agent is told not to retry,
// and a person is asked to check (an unknown-outcome incident), not told "try again".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { AirlockError } from '../../src/errors.js';
import { copyAcme } from '../helpers/workspace.js';

describe('an outcome that could not be recorded', () => {
  const ws = copyAcme();
  let airlock: Airlock;
  beforeAll(async () => {
    airlock = await openAirlock(ws.dir);
  });
  afterAll(async () => {
    await airlock.close();
    ws.cleanup();
  });

  it('is reported as failed and unrecorded, and opens an incident naming the call', async () => {
    const agent = airlock.principal('agent:refund-bot');
    const run = await airlock.sessions.open(airlock.workspace.workflows.get('refund-desk')!, agent, 'sdk');
    // The store refuses the next `action.executed` (a disk full, say); every other record goes through.
    const store = airlock.store;
    const append = store.appendAudit.bind(store);
    let refused = 0;
    store.appendAudit = (drafts) => {
      if (refused === 0 && drafts.some((d) => d.type === 'action.executed')) {
        refused++;
        return Promise.reject(new AirlockError('store', 'store failed to append audit records: disk full'));
      }
      return append(drafts);
    };
    const out = await airlock.sessions.call(run.id, agent, { tool: 'tickets.comment', args: { ticket_id: 'T-311', body: 'looking into it' } });
    store.appendAudit = append;
    expect(out).toMatchObject({ kind: 'failed', failure: 'unrecorded', message: expect.stringMatching(/do not retry it/) });
    const incidents = await store.listIncidents({ runId: run.id });
    expect(incidents).toEqual([expect.objectContaining({ kind: 'unknown-outcome', evidence: expect.objectContaining({ tool: 'tickets.comment' }) })]);
  });
});
