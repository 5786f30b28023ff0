// Routing: which route takes a turn (the workflow's, or the first matching rule's, then fallbacks),
// and the clearance rule: content above a route's clearance never leaves through it. The end-to-end
// cases run the Acme refund desk against two loopback endpoints and check what each one was sent.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { AirlockError } from '../../src/errors.js';
import { openAirlock } from '../../src/airlock.js';
import type { ModelRoute, WorkspaceFile } from '../../src/config/schema.js';
import type { Model, ModelInput, ModelTurn } from '../../src/orchestration/model.js';
import { RoutedModel, planRoutes, type RoutedWorkflow } from '../../src/routing/router.js';
import { copyAcme } from '../helpers/workspace.js';
import { FakeEndpoint } from '../helpers/fake-model-endpoint.js';

const route = (clearance: ModelRoute['clearance'], fallback: string[] = []): ModelRoute => ({ kind: 'scripted', playbook: 'p.yaml', clearance, fallback });
const FILE: Pick<WorkspaceFile, 'models' | 'routing'> = {
  models: { cloud: route('internal', ['cloud2']), cloud2: route('internal', ['onprem', 'cloud']), onprem: route('restricted'), small: route('public') },
  routing: [
    { when: { tier: ['execute-high'] }, use: 'onprem' },
    { when: { classification: ['public'] }, use: 'small' },
    { when: {}, use: 'cloud' },
  ],
};
const PUBLIC = { classification: 'public', trust: 'trusted' } as const;
const wf = (over: Partial<RoutedWorkflow> = {}): RoutedWorkflow => ({ name: 'w', model: 'auto', tier: 'execute-low', stepKind: 'reason', risk: 'low', ...over });
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
    expect(planRoutes({ ...FILE, routing: [{ when: { tier: ['assist'] }, use: 'cloud' }] }, wf({ model: 'auto', tier: 'prepare' }), PUBLIC).none).toMatch(/no routing rule matches workflow `w` \(tier prepare, reason, low risk\)/);
  });

  it('matches a workflow by name, by the kind of work its turns are, and by the risk of its riskiest tool', () => {
    const rules: Pick<WorkspaceFile, 'models' | 'routing'> = {
      models: FILE.models,
      routing: [
        { when: { risk: ['high', 'critical'] }, use: 'onprem' },
        { when: { stepKind: ['classify', 'extract'] }, use: 'small' },
        { when: { workflow: ['triage'] }, use: 'cloud2' },
        { when: {}, use: 'cloud' },
      ],
    };
    const first = (over: Partial<RoutedWorkflow>) => planRoutes(rules, wf(over), PUBLIC).chain[0];
    expect(first({ risk: 'high', stepKind: 'classify' })).toEqual({ name: 'onprem', why: 'routing rule 1 (high/critical risk)' });
    expect(first({ stepKind: 'extract' })).toEqual({ name: 'small', why: 'routing rule 2 (classify/extract work)' });
    expect(first({ name: 'triage' })).toEqual({ name: 'cloud2', why: 'routing rule 3 (workflow triage)' });
    expect(first({})).toEqual({ name: 'cloud', why: 'routing rule 4 (default)' });
  });
});

/** A model that answers, or fails like a provider that is down, and counts what it was asked. */
class Fake implements Model {
  readonly provider = 'fake';
  asked = 0;
  constructor(
    readonly model: string,
    private readonly fails = false,
  ) {}
  async next(_input: ModelInput): Promise<ModelTurn> {
    this.asked++;
    if (this.fails) throw new AirlockError('connector', `model route \`${this.model}\` failed (HTTP 503): overloaded`);
    return { kind: 'final', text: `from ${this.model}`, claim: 'done' };
  }
}

describe('the routed model', () => {
  const input = (labels: ModelInput['labels']): ModelInput => ({ workflow: 'w', input: {}, tools: [], history: [], labels });

  it('falls back when a provider fails after its retries, and says which route answered and why', async () => {
    const models = { cloud: new Fake('cloud', true), cloud2: new Fake('cloud2', true), onprem: new Fake('onprem'), small: new Fake('small') };
    const routed = new RoutedModel(FILE, wf({ model: 'cloud', tier: 'execute-low' }), (n) => models[n as keyof typeof models]);
    const turn = await routed.next(input({ classification: 'internal', trust: 'trusted' }));
    expect(turn).toMatchObject({ kind: 'final', text: 'from onprem', route: { name: 'onprem', provider: 'fake', why: 'fallback of `cloud2`; after `cloud` failed; after `cloud2` failed' } });
  });

  it('refuses a turn no cleared route may take, without asking any model', async () => {
    const models = { cloud: new Fake('cloud'), cloud2: new Fake('cloud2'), onprem: new Fake('onprem'), small: new Fake('small') };
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

const completion = (message: object, finish: string) => ({
  status: 200,
  body: { id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: null, ...message }, finish_reason: finish }], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } },
});
const readTicket = completion({ tool_calls: [{ id: 'x', type: 'function', function: { name: 'tickets_get_ticket', arguments: '{"ticket_id":"T-311"}' } }] }, 'tool_calls');
const done = completion({ content: 'done' }, 'stop');

describe('clearance on the Acme refund desk (the ticket it reads is confidential)', () => {
  const cloud = new FakeEndpoint('/v1');
  const onprem = new FakeEndpoint('/v1');
  beforeAll(async () => {
    await cloud.start();
    await onprem.start();
  });
  afterAll(async () => {
    await cloud.stop();
    await onprem.stop();
  });

  async function desk(models: Record<string, object>, model: string, routing: object[] = [], inputClassification?: string) {
    const ws = copyAcme();
    const file = path.join(ws.dir, 'airlock.yaml');
    const doc = parseDocument(readFileSync(file, 'utf8'));
    for (const [name, m] of Object.entries(models)) doc.setIn(['models', name], doc.createNode({ kind: 'openai-chat', model: name, maxRetries: 0, ...m }));
    if (routing.length > 0) doc.set('routing', doc.createNode(routing));
    writeFileSync(file, doc.toString());
    const wf = path.join(ws.dir, 'workflows', 'refund-desk.yaml');
    writeFileSync(wf, readFileSync(wf, 'utf8').replace(/^model: playbook$/m, `model: ${model}${inputClassification ? `\ninputClassification: ${inputClassification}` : ''}`));
    return ws;
  }

  it('a route cleared only for internal content is never sent the confidential ticket: the run ends, on record', async () => {
    cloud.reset();
    cloud.replies.push(readTicket, done);
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
    cloud.replies.push(readTicket);
    onprem.replies.push(done);
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

  it('an input the workflow declares confidential is never sent to a route cleared below it, not even on the first turn', async () => {
    cloud.reset();
    cloud.replies.push(done);
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
