// Adversarial tests (from a security review): risk re-routing of model proposals (src/routing/router.ts).
// Claim: with `model: auto` and a rule `when: { risk: [high, critical] }`, a high-risk proposal by the
// everyday route never reaches the gateway; the high-risk route is asked the same turn once and its
// answer stands; every answer is recorded and paid for; content above a route's clearance never
// leaves through it. Each FINDING below failed before its fix and is kept as a regression test.
import { describe, expect, it } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import { recordsOf } from '../../src/audit/records.js';
import type { WorkspaceFile } from '../../src/config/schema.js';
import type { ModelInput, ModelTurn } from '../../src/orchestration/model.js';
import { RoutedModel, type RoutedWorkflow } from '../../src/routing/router.js';
import { acmeDeskOnRoutes, groundTruth } from '../helpers/workspace.js';
import { FakeEndpoint, startedForSuite } from '../helpers/fake-model-endpoint.js';
import { DONE, FakeModel, NO_MESSAGE, route, SEND_MAIL } from '../helpers/model-turns.js';

const TOOL_RISK = new Map([
  ['read', 'low'],
  ['send', 'high'],
] as const);
const wf = (over: Partial<RoutedWorkflow> = {}): RoutedWorkflow => ({ name: 'w', model: 'auto', tier: 'execute-low', stepKind: 'reason', toolRisk: TOOL_RISK, ...over });
const INTERNAL = { classification: 'internal', trust: 'trusted' } as const;
const input = (): ModelInput => ({ workflow: 'w', input: {}, tools: [], history: [], labels: INTERNAL });

describe('who may make a high-risk proposal', () => {
  // FINDING: the re-asked plan is the high-risk route *with its fallbacks*. A common configuration
  // ("if the strong model is down, use the small one") puts the everyday route in that chain: when the
  // strong route fails, the everyday route is asked again, and its high-risk proposal stands and goes
  // to the gateway, labelled as routed by the risk rule.
  it('the high-risk route falling back to the everyday route does not let the everyday route make the proposal', async () => {
    const file: Pick<WorkspaceFile, 'models' | 'routing'> = {
      models: { small: route('internal'), strong: route('internal', ['small']) },
      routing: [
        { when: { risk: ['high', 'critical'] }, use: 'strong' },
        { when: {}, use: 'small' },
      ],
    };
    const models = { small: new FakeModel('small', false, 'send'), strong: new FakeModel('strong', true) };
    const routed = new RoutedModel(file, wf(), (n) => models[n as keyof typeof models]);
    const turn = await routed.next(input()).catch((e: unknown) => e);
    // Acceptable: an error (the turn could not be placed), or an answer that is not `small`'s high-risk call.
    const smallMadeTheHighRiskCall = !(turn instanceof Error) && (turn as ModelTurn).kind === 'tool_call' && (turn as ModelTurn & { kind: 'tool_call' }).tool === 'send' && (turn as ModelTurn).route?.name === 'small';
    expect(smallMadeTheHighRiskCall).toBe(false);
  });

  // FINDING: whether to re-route is decided by comparing plan *starts* (`second.start === plan.start`),
  // not the route that actually answered. When the first plan's start is the high-risk route but it
  // failed and a fallback answered, a high-risk proposal by that fallback stands unexamined.
  it('a high-risk proposal made by a fallback is re-routed even when the first plan started at the high-risk route', async () => {
    const file: Pick<WorkspaceFile, 'models' | 'routing'> = {
      models: { small: route('confidential'), strong: route('confidential', ['small']) },
      // The first matching rule decides: the risk rule comes first, so the confidential rule's
      // fallback (the everyday route) is not a route high-risk proposals may come from.
      routing: [
        { when: { risk: ['high', 'critical'] }, use: 'strong' },
        { when: { classification: ['confidential'] }, use: 'strong' },
        { when: {}, use: 'small' },
      ],
    };
    const models = { small: new FakeModel('small', false, 'send'), strong: new FakeModel('strong', true) };
    const routed = new RoutedModel(file, wf(), (n) => models[n as keyof typeof models]);
    const turn = await routed.next({ ...input(), labels: { classification: 'confidential', trust: 'trusted' } }).catch((e: unknown) => e);
    const stood = !(turn instanceof Error) && (turn as ModelTurn).kind === 'tool_call' && (turn as ModelTurn).route?.name === 'small';
    expect(stood).toBe(false);
  });

  // FINDING: the re-asked route's answer "stands" whatever it proposes. With a rule that sends low-risk
  // proposals to a cheap route, the default route's harmless read is set aside, the cheap route is asked
  // and proposes a high-risk call instead: it stands and goes to the gateway, though the workspace says
  // high-risk proposals are `strong`'s to make.
  it('a route asked because of a low-risk rule cannot make a high-risk proposal that stands', async () => {
    const file: Pick<WorkspaceFile, 'models' | 'routing'> = {
      models: { cheap: route('internal'), strong: route('internal'), everyday: route('internal') },
      routing: [
        { when: { risk: ['low'] }, use: 'cheap' },
        { when: { risk: ['high', 'critical'] }, use: 'strong' },
        { when: {}, use: 'everyday' },
      ],
    };
    const models = { everyday: new FakeModel('everyday', false, 'read'), cheap: new FakeModel('cheap', false, 'send'), strong: new FakeModel('strong') };
    const turn = await new RoutedModel(file, wf(), (n) => models[n as keyof typeof models]).next(input()).catch((e: unknown) => e);
    const cheapHighRisk = !(turn instanceof Error) && (turn as ModelTurn).kind === 'tool_call' && (turn as ModelTurn & { kind: 'tool_call' }).tool === 'send' && (turn as ModelTurn).route?.name !== 'strong';
    expect(cheapHighRisk).toBe(false);
  });

  // Withstood: the strong route (not a fallback) answering with its own high-risk call stands, once.
  it('withstands: the strong route is asked once, not re-asked about its own high-risk proposal', async () => {
    const file: Pick<WorkspaceFile, 'models' | 'routing'> = {
      models: { small: route('internal'), strong: route('internal') },
      routing: [
        { when: { risk: ['high'] }, use: 'strong' },
        { when: {}, use: 'small' },
      ],
    };
    const models = { small: new FakeModel('small', false, 'send'), strong: new FakeModel('strong', false, 'send') };
    const turn = await new RoutedModel(file, wf(), (n) => models[n as keyof typeof models]).next(input());
    expect(turn.route?.name).toBe('strong');
    expect([models.small.asked, models.strong.asked]).toEqual([1, 1]);
  });

  // Withstood: a tool name that is not the declared one (case, homoglyph) has no risk, so it is not
  // re-routed, but the gateway refuses it (deny by default): nothing high-risk slips through by renaming.
  it('withstands: a renamed high-risk tool is not re-routed, and it is not a tool the gateway knows', async () => {
    const file: Pick<WorkspaceFile, 'models' | 'routing'> = {
      models: { small: route('internal'), strong: route('internal') },
      routing: [
        { when: { risk: ['high'] }, use: 'strong' },
        { when: {}, use: 'small' },
      ],
    };
    for (const alias of ['SEND', 'sеnd' /* Cyrillic е */, 'send ', 'send\u200b']) {
      const models = { small: new FakeModel('small', false, alias), strong: new FakeModel('strong') };
      const turn = await new RoutedModel(file, wf(), (n) => models[n as keyof typeof models]).next(input());
      expect(turn.kind === 'tool_call' && turn.tool).toBe(alias);
      expect(TOOL_RISK.has(alias as never)).toBe(false);
    }
  });
});

describe('set-aside answers are recorded and paid for (Acme refund desk, two loopback endpoints)', () => {
  const cloud = startedForSuite(new FakeEndpoint('/v1'));
  const onprem = startedForSuite(new FakeEndpoint('/v1'));

  // FINDING: when the high-risk route's reply makes the adapter throw something other than an
  // AirlockError (here a choice with no `message`: a TypeError in `chatTurn`), the router rethrows it
  // raw, the runner rethrows it, and the set-aside (paid) answer of the everyday route is never
  // recorded; the run is left `running` with no usage counted.
  it("the everyday route's set-aside answer is on record even when the high-risk route's reply is garbage", async () => {
    cloud.reset();
    onprem.reset();
    cloud.replies.push(SEND_MAIL);
    onprem.replies.push(NO_MESSAGE);
    onprem.otherwise = DONE;
    const ws = acmeDeskOnRoutes(
      { cloud: { baseUrl: cloud.url }, onprem: { baseUrl: onprem.url, clearance: 'restricted' } },
      'auto',
      [
        { when: { risk: ['high', 'critical'] }, use: 'onprem' },
        { when: { classification: ['confidential', 'restricted'] }, use: 'onprem' },
        { use: 'cloud' },
      ],
    );
    const before = groundTruth(ws.acmeDb);
    const a = await openAirlock(ws.dir);
    try {
      let crashed: unknown = null;
      await a.runner.start('refund-desk', { ticket_id: 'T-311' }).catch((e: unknown) => (crashed = e));
      const run = (await a.store.listRuns({}))[0];
      const records = run ? await a.store.readAuditForRun(run.id) : [];
      expect(JSON.stringify(groundTruth(ws.acmeDb))).toBe(JSON.stringify(before));
      expect(crashed).toBeNull();
      expect(recordsOf(records, 'model.called').map((r) => r.body['route'])).toContain('cloud');
      expect(run?.status).not.toBe('running');
    } finally {
      await a.close();
      ws.cleanup();
    }
  });
});
