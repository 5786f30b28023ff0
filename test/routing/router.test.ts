// Routing: which route takes a turn (the workflow's, or the first matching rule's, then fallbacks),
// and the clearance rule: content above a route's clearance never leaves through it. The end-to-end
// cases run the Acme refund desk against two loopback endpoints and check what each one was sent.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { AirlockError } from '../../src/errors.js';
import { openAirlock } from '../../src/airlock.js';
import type { WorkspaceFile } from '../../src/config/schema.js';
import type { ModelInput } from '../../src/orchestration/model.js';
import { RoutedModel, planRoutes, type Proposed, type RoutedWorkflow } from '../../src/routing/router.js';
import { TurnError } from '../../src/orchestration/model.js';
import { acmeDeskOnRoutes } from '../helpers/workspace.js';
import { FakeEndpoint, startedForSuite } from '../helpers/fake-model-endpoint.js';
import { DONE, FakeModel, READ_TICKET, SEND_MAIL, route } from '../helpers/model-turns.js';

const FILE: Pick<WorkspaceFile, 'models' | 'routing'> = {
  models: { cloud: route('internal', ['cloud2']), cloud2: route('internal', ['onprem', 'cloud']), onprem: route('restricted'), small: route('public') },
  routing: [
    { when: { tier: ['execute-high'] }, use: 'onprem' },
    { when: { classification: ['public'] }, use: 'small' },
    { when: {}, use: 'cloud' },
  ],
};
const PUBLIC = { classification: 'public', trust: 'trusted' } as const;
const TOOL_RISK = new Map([
  ['read', 'low'],
  ['refund', 'medium'],
  ['send', 'high'],
] as const);
const wf = (over: Partial<RoutedWorkflow> = {}): RoutedWorkflow => ({ name: 'w', model: 'auto', tier: 'execute-low', stepKind: 'reason', toolRisk: TOOL_RISK, ...over });
const CONFIDENTIAL = { classification: 'confidential', trust: 'untrusted' } as const;

describe('route plans', () => {
  it('follows the first matching rule, then fallbacks in order, each route once', () => {
    expect(planRoutes(FILE, wf({ model: 'auto', tier: 'execute-low' }), PUBLIC).chain).toEqual([{ name: 'small', why: 'routing rule 2 (public content)' }]);
    expect(planRoutes(FILE, wf({ model: 'auto', tier: 'execute-low' }), { classification: 'internal', trust: 'trusted' }).chain.map((c) => c.name)).toEqual(['cloud', 'cloud2', 'onprem']);
    expect(planRoutes(FILE, wf({ model: 'auto', tier: 'execute-high' }), PUBLIC).chain).toEqual([{ name: 'onprem', why: 'routing rule 1 (tier execute-high)' }]);
    expect(planRoutes(FILE, wf({ model: 'cloud2', tier: 'execute-low' }), PUBLIC).chain.map((c) => c.why)).toEqual(['the workflow names it', 'fallback of `cloud2`', 'fallback of `cloud2`']);
  });

  it('skips every route not cleared for what the run has read, and says when no rule matches', () => {
    const plan = planRoutes(FILE, wf({ model: 'auto', tier: 'execute-low' }), CONFIDENTIAL);
    expect(plan.chain.map((c) => c.name)).toEqual(['onprem']);
    expect(plan.skipped).toEqual([
      { name: 'cloud', clearance: 'internal' },
      { name: 'cloud2', clearance: 'internal' },
    ]);
    expect(planRoutes({ ...FILE, routing: [{ when: { tier: ['assist'] }, use: 'cloud' }] }, wf({ model: 'auto', tier: 'prepare' }), PUBLIC).none).toMatch(/no routing rule matches workflow `w` \(tier prepare, reason\) with public, trusted content read/);
  });

  it('matches a workflow by name, by the kind of work its turns are, and a proposal by its risk', () => {
    const rules: Pick<WorkspaceFile, 'models' | 'routing'> = {
      models: FILE.models,
      routing: [
        { when: { risk: ['high', 'critical'] }, use: 'onprem' },
        { when: { stepKind: ['classify', 'extract'] }, use: 'small' },
        { when: { workflow: ['triage'] }, use: 'cloud2' },
        { when: {}, use: 'cloud' },
      ],
    };
    const first = (over: Partial<RoutedWorkflow>, proposed: Proposed | null = null) => planRoutes(rules, wf(over), PUBLIC, proposed).chain[0];
    // Before the model answers there is no proposal, so no risk rule matches.
    expect(first({ stepKind: 'classify' })).toEqual({ name: 'small', why: 'routing rule 2 (classify/extract work)' });
    expect(first({ stepKind: 'classify' }, { tool: 'send', risk: 'high' })).toEqual({ name: 'onprem', why: 'routing rule 1 (high/critical-risk proposal): the proposed `send` is high risk' });
    expect(first({ stepKind: 'classify' }, { tool: 'refund', risk: 'medium' })).toEqual({ name: 'small', why: 'routing rule 2 (classify/extract work)' });
    expect(first({ stepKind: 'extract' })).toEqual({ name: 'small', why: 'routing rule 2 (classify/extract work)' });
    expect(first({ name: 'triage' })).toEqual({ name: 'cloud2', why: 'routing rule 3 (workflow triage)' });
    expect(first({})).toEqual({ name: 'cloud', why: 'routing rule 4 (default)' });
    expect(planRoutes({ ...rules, routing: [{ when: { risk: ['low'] }, use: 'small' }] }, wf(), PUBLIC, { tool: 'send', risk: 'high' }).none).toMatch(/\(tier execute-low, reason, a high-risk proposal\)/);
  });
});

describe('the routed model', () => {
  const input = (labels: ModelInput['labels']): ModelInput => ({ workflow: 'w', input: {}, tools: [], history: [], labels });

  it('falls back when a provider fails after its retries, and says which route answered and why', async () => {
    const models = { cloud: new FakeModel('cloud', true), cloud2: new FakeModel('cloud2', true), onprem: new FakeModel('onprem'), small: new FakeModel('small') };
    const routed = new RoutedModel(FILE, wf({ model: 'cloud', tier: 'execute-low' }), (n) => models[n as keyof typeof models]);
    const turn = await routed.next(input({ classification: 'internal', trust: 'trusted' }));
    expect(turn).toMatchObject({ kind: 'final', text: 'from onprem', route: { name: 'onprem', provider: 'fake', why: 'fallback of `cloud2`; after `cloud` failed; after `cloud2` failed' } });
  });

  it('refuses a turn no cleared route may take, without asking any model', async () => {
    const models = { cloud: new FakeModel('cloud'), cloud2: new FakeModel('cloud2'), onprem: new FakeModel('onprem'), small: new FakeModel('small') };
    const routed = new RoutedModel({ ...FILE, models: { ...FILE.models, cloud2: route('internal') } }, wf({ model: 'cloud', tier: 'execute-low' }), (n) => models[n as keyof typeof models]);
    const err = await routed.next(input(CONFIDENTIAL)).then(
      () => null,
      (e: unknown) => e as AirlockError,
    );
    expect(err?.code).toBe('policy');
    expect(err?.message).toBe('the run has read confidential content, and no model route it may use is cleared for it: `cloud` (clearance internal), `cloud2` (clearance internal)');
    expect(Object.values(models).map((m) => m.asked)).toEqual([0, 0, 0, 0]);
  });
});

describe('routing on the risk of the proposed action', () => {
  const input = (labels: ModelInput['labels']): ModelInput => ({ workflow: 'w', input: {}, tools: [], history: [], labels });
  const RULES: Pick<WorkspaceFile, 'models' | 'routing'> = {
    models: { small: route('internal'), strong: route('internal', ['strong2']), strong2: route('restricted') },
    routing: [
      { when: { risk: ['high', 'critical'] }, use: 'strong' },
      { when: {}, use: 'small' },
    ],
  };
  const TRUSTED_INTERNAL = { classification: 'internal', trust: 'trusted' } as const;
  const routed = (models: Record<string, FakeModel>, file = RULES, over: Partial<RoutedWorkflow> = {}) => new RoutedModel(file, wf(over), (n) => models[n] as FakeModel);

  it.each([
    ['a low-risk read', 'read'],
    ['a medium-risk refund', 'refund'],
    ['a tool the workflow may not call (the gateway refuses it)', 'wipe'],
  ])('%s stays with the route that proposed it', async (_, tool) => {
    const models = { small: new FakeModel('small', false, tool), strong: new FakeModel('strong', false, 'send'), strong2: new FakeModel('strong2') };
    const turn = await routed(models).next(input(TRUSTED_INTERNAL));
    expect(turn).toMatchObject({ kind: 'tool_call', tool, route: { name: 'small', why: 'routing rule 2 (default)' } });
    expect(turn.setAside).toBeUndefined();
    expect([models.small.asked, models.strong.asked]).toEqual([1, 0]);
  });

  it('a high-risk proposal from the small route is set aside, and the strong route is asked the same turn once', async () => {
    // The strong route proposes another high-risk call: it is its to make, and not re-routed again.
    const models = { small: new FakeModel('small', false, 'send'), strong: new FakeModel('strong', false, 'send'), strong2: new FakeModel('strong2') };
    const turn = await routed(models).next(input(TRUSTED_INTERNAL));
    expect(turn).toMatchObject({ kind: 'tool_call', tool: 'send', args: { by: 'strong' }, route: { name: 'strong', why: "routing rule 1 (high/critical-risk proposal): the proposed `send` is high risk; set aside `small`'s proposal" } });
    expect(turn.setAside).toEqual([{ route: expect.objectContaining({ name: 'small', why: 'routing rule 2 (default)' }), usage: { inputTokens: 100, outputTokens: 10 }, tool: 'send', risk: 'high', to: 'strong' }]);
    expect([models.small.asked, models.strong.asked]).toEqual([1, 1]);
  });

  it('the strong route answering with no proposal, or one of low risk, stands', async () => {
    for (const proposes of [null, 'read']) {
      const models = { small: new FakeModel('small', false, 'send'), strong: new FakeModel('strong', false, proposes), strong2: new FakeModel('strong2') };
      const turn = await routed(models).next(input(TRUSTED_INTERNAL));
      expect(turn.route?.name).toBe('strong');
      expect(turn.kind).toBe(proposes ? 'tool_call' : 'final');
      expect(turn.setAside).toHaveLength(1);
    }
  });

  it('a workflow that names its route is never re-routed', async () => {
    const models = { small: new FakeModel('small', false, 'send'), strong: new FakeModel('strong'), strong2: new FakeModel('strong2') };
    const turn = await routed(models, RULES, { model: 'small' }).next(input(TRUSTED_INTERNAL));
    expect(turn).toMatchObject({ tool: 'send', route: { name: 'small' } });
    expect(models.strong.asked).toBe(0);
  });

  it('the strong route failing falls back along its chain, and when every one fails the set-aside answer travels with the error', async () => {
    const fallen = { small: new FakeModel('small', false, 'send'), strong: new FakeModel('strong', true), strong2: new FakeModel('strong2', false, 'send') };
    expect(await routed(fallen).next(input(TRUSTED_INTERNAL))).toMatchObject({ route: { name: 'strong2', why: expect.stringContaining('after `strong` failed') }, setAside: [{ tool: 'send' }] });
    const down = { small: new FakeModel('small', false, 'send'), strong: new FakeModel('strong', true), strong2: new FakeModel('strong2', true) };
    const err = await routed(down).next(input(TRUSTED_INTERNAL)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TurnError);
    expect(err).toMatchObject({ code: 'connector', message: expect.stringMatching(/^every route failed \(`strong`, `strong2`\)/), setAside: [{ tool: 'send', to: 'strong' }] });
  });

  it('a strong route not cleared for what the run has read is never sent it: the proposal is refused, not acted on', async () => {
    const models = { small: new FakeModel('small', false, 'send'), strong: new FakeModel('strong'), strong2: new FakeModel('strong2') };
    const file = { ...RULES, models: { ...RULES.models, small: route('confidential'), strong: route('internal') } };
    const err = await routed(models, file).next(input({ classification: 'confidential', trust: 'trusted' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TurnError);
    expect(err).toMatchObject({ code: 'policy', setAside: [{ tool: 'send', to: 'strong' }] });
    expect([models.small.asked, models.strong.asked]).toEqual([1, 0]);
  });
});

describe('clearance on the Acme refund desk (the ticket it reads is confidential)', () => {
  const cloud = startedForSuite(new FakeEndpoint('/v1'));
  const onprem = startedForSuite(new FakeEndpoint('/v1'));

  const desk = acmeDeskOnRoutes;

  it('a route cleared only for internal content is never sent the confidential ticket: the run ends, on record', async () => {
    cloud.reset();
    cloud.replies.push(READ_TICKET, DONE);
    const ws = await desk({ cloud: { baseUrl: cloud.url } }, 'cloud');
    try {
      const a = await openAirlock(ws.dir);
      try {
        const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
        expect(run.status).toBe('failed');
        // One request went out, before anything confidential was read; the ticket never left.
        expect(cloud.seen).toHaveLength(1);
        const records = await a.store.readAuditForRun(run.id);
        expect(records.filter((r) => r.type === 'action.executed').map((r) => r.body['tool'])).toEqual(['tickets.get_ticket']);
        const refused = records.find((r) => r.type === 'model.refused');
        expect(refused?.body).toEqual({ classification: 'confidential', reason: 'the run has read confidential content, and no model route it may use is cleared for it: `cloud` (clearance internal)' });
        expect(records.find((r) => r.type === 'run.finished')?.body).toMatchObject({ status: 'failed' });
      } finally {
        await a.close();
      }
    } finally {
      ws.cleanup();
    }
  });

  it('with `model: auto`, the turn after the confidential read goes to the route cleared for it, and only that one sees the ticket', async () => {
    cloud.reset();
    onprem.reset();
    cloud.replies.push(READ_TICKET);
    onprem.replies.push(DONE);
    const ws = await desk(
      { cloud: { baseUrl: cloud.url }, onprem: { baseUrl: onprem.url, clearance: 'restricted' } },
      'auto',
      [
        { when: { classification: ['confidential', 'restricted'] }, use: 'onprem' },
        { use: 'cloud' },
      ],
    );
    try {
      const a = await openAirlock(ws.dir);
      try {
        const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
        expect(run.status).not.toBe('running');
        expect(cloud.seen).toHaveLength(1);
        expect(onprem.seen).toHaveLength(1);
        expect(JSON.stringify(onprem.seen[0]?.body.messages)).toContain('T-311');
        const called = (await a.store.readAuditForRun(run.id)).filter((r) => r.type === 'model.called').map((r) => [r.body['route'], r.body['why']]);
        expect(called).toEqual([
          ['cloud', 'routing rule 2 (default)'],
          ['onprem', 'routing rule 1 (confidential/restricted content)'],
        ]);
      } finally {
        await a.close();
      }
    } finally {
      ws.cleanup();
    }
  });

  it('a high-risk proposal from the everyday route never reaches the gateway: the route for high risk is asked instead, and both answers are on record and paid for', async () => {
    cloud.reset();
    onprem.reset();
    cloud.replies.push(SEND_MAIL);
    onprem.replies.push(READ_TICKET, DONE);
    const ws = await desk(
      { cloud: { baseUrl: cloud.url }, onprem: { baseUrl: onprem.url, clearance: 'restricted' } },
      'auto',
      [
        { when: { risk: ['high', 'critical'] }, use: 'onprem' },
        { when: { classification: ['confidential', 'restricted'] }, use: 'onprem' },
        { use: 'cloud' },
      ],
    );
    try {
      const a = await openAirlock(ws.dir);
      try {
        const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
        expect(run.status).not.toBe('running');
        expect([cloud.seen.length, onprem.seen.length]).toEqual([1, 2]);
        const records = await a.store.readAuditForRun(run.id);
        // The set-aside proposal left no intent, decision or approval: only the strong route's read did.
        expect(records.filter((r) => r.type === 'action.intent').map((r) => r.body['tool'])).toEqual(['tickets.get_ticket']);
        expect(records.some((r) => r.type === 'approval.requested')).toBe(false);
        const called = records.filter((r) => r.type === 'model.called').map((r) => [r.body['route'], r.body['why'], r.body['setAside'] ?? null, r.body['inputTokens']]);
        expect(called).toEqual([
          ['cloud', 'routing rule 3 (default)', { tool: 'mail.send', risk: 'high', to: 'onprem' }, 10],
          ['onprem', "routing rule 1 (high/critical-risk proposal): the proposed `mail.send` is high risk; set aside `cloud`'s proposal", null, 10],
          ['onprem', 'routing rule 2 (confidential/restricted content)', null, 10],
        ]);
        const state = (await a.store.getRun(run.id))?.state as { usage: { modelCalls: number }; steps: number };
        expect(state.usage.modelCalls).toBe(3);
        expect(state.steps).toBe(2);
      } finally {
        await a.close();
      }
    } finally {
      ws.cleanup();
    }
  });

  it('an input the workflow declares confidential is never sent to a route cleared below it, not even on the first turn', async () => {
    cloud.reset();
    cloud.replies.push(DONE);
    const ws = await desk({ cloud: { baseUrl: cloud.url } }, 'cloud', [], 'confidential');
    try {
      const a = await openAirlock(ws.dir);
      try {
        const run = await a.runner.start('refund-desk', { ticket_id: 'T-311', note: 'the customer\'s card ends 4242' });
        expect(run.status).toBe('failed');
        expect(cloud.seen).toHaveLength(0);
        const records = await a.store.readAuditForRun(run.id);
        expect(records.find((r) => r.type === 'model.refused')?.body).toMatchObject({ classification: 'confidential' });
      } finally {
        await a.close();
      }
    } finally {
      ws.cleanup();
    }
  });
});
