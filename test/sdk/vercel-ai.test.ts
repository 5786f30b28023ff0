// The Vercel AI SDK adapter, with the library's own tool() and a real generateText driven by its mock model.
import { generateText, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import type { LanguageModelV3GenerateResult } from '@ai-sdk/provider';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { governVercelAITool, localDecisionPoint, remoteDecisionPoint, type DecisionPoint } from '../../src/sdk/index.js';
import { sdkFixture, type SdkFixture } from './fixtures.js';

let fx: SdkFixture;
beforeAll(async () => {
  fx = await sdkFixture();
});
afterAll(async () => {
  await fx?.close();
});

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
};

/** A model turn that calls tools. */
function calls(...c: { id: string; name: string; input: unknown }[]): LanguageModelV3GenerateResult {
  return {
    content: c.map((x) => ({ type: 'tool-call' as const, toolCallId: x.id, toolName: x.name, input: JSON.stringify(x.input) })),
    finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
    usage,
    warnings: [],
  };
}

/** A model turn that answers with text. */
function text(t: string): LanguageModelV3GenerateResult {
  return { content: [{ type: 'text', text: t }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] };
}

describe.each(['local', 'remote'] as const)('governVercelAITool, %s decision point', (kind) => {
  let dp: DecisionPoint;
  beforeAll(() => {
    dp = kind === 'local' ? localDecisionPoint(fx.airlock, { agent: 'agent:billing-bot' }) : remoteDecisionPoint({ url: fx.server.url, token: fx.keys.bot });
  });

  it('in a real generateText loop, refusals are the tool results the model reads; refused tools never run', async () => {
    const ran: string[] = [];
    const lookup = tool({
      description: 'Look up an invoice.',
      inputSchema: z.object({ invoice_id: z.string() }),
      execute: async ({ invoice_id }) => {
        ran.push(`lookup ${invoice_id}`);
        return { invoice_id, amount_cents: 12900 };
      },
    });
    const del = tool({
      description: 'Delete an account.',
      inputSchema: z.object({ customer_id: z.string() }),
      execute: async ({ customer_id }) => {
        ran.push(`delete ${customer_id}`);
        return { deleted: true };
      },
    });
    const model = new MockLanguageModelV3({
      doGenerate: [
        calls({ id: 't1', name: 'lookup_invoice', input: { invoice_id: 'INV-1001' } }, { id: 't2', name: 'delete_account', input: { customer_id: 'C-7' } }),
        text('done'),
      ],
    });
    const result = await generateText({
      model,
      tools: {
        lookup_invoice: governVercelAITool(dp, 'app.lookup_invoice', lookup),
        delete_account: governVercelAITool(dp, 'app.delete_account', del),
      },
      stopWhen: stepCountIs(3),
      prompt: 'look up INV-1001 and delete my account',
    });
    expect(result.text).toBe('done');
    expect(ran).toEqual(['lookup INV-1001']);
    const results = Object.fromEntries(result.steps[0]!.toolResults.map((r) => [r.toolName, r.output]));
    expect(results['lookup_invoice']).toEqual({ invoice_id: 'INV-1001', amount_cents: 12900 });
    expect(results['delete_account']).toBe(
      'denied by Airlock: accounts are deleted by a person in the admin console, never by an agent (policies: no-account-deletion)',
    );
    // The second model call received the refusal as the tool result.
    expect(JSON.stringify(model.doGenerateCalls[1]!.prompt)).toContain('(policies: no-account-deletion)');
  });

  it('a custom toModelOutput is given outputs only; the model gets a refusal as text', async () => {
    const credit = tool({
      description: 'Credit a customer.',
      inputSchema: z.object({ invoice_id: z.string(), amount_cents: z.number().int(), reason: z.string() }),
      execute: async ({ amount_cents }) => ({ credited: amount_cents }),
      toModelOutput: ({ output }) => ({ type: 'text', value: `credited ${output.credited} cents` }),
    });
    const model = new MockLanguageModelV3({
      doGenerate: [
        calls({ id: 'a', name: 'issue_credit', input: { invoice_id: 'INV-1001', amount_cents: 500, reason: 'late' } }),
        calls({ id: 'b', name: 'issue_credit', input: { invoice_id: 'INV-1001', amount_cents: 2500, reason: 'damaged' } }),
        text('ok'),
      ],
    });
    await generateText({ model, tools: { issue_credit: governVercelAITool(dp, 'app.issue_credit', credit) }, stopWhen: stepCountIs(4), prompt: 'credit' });
    const second = JSON.stringify(model.doGenerateCalls[1]!.prompt);
    const third = JSON.stringify(model.doGenerateCalls[2]!.prompt);
    expect(second).toContain('credited 500 cents');
    expect(third).toMatch(/approval required \(single\): approval apr_[0-9a-f]+; call again with the same arguments once approved and it runs once \(credits above 10\.00 need one approver\)/);
  });

  it('an execute that throws is reported as an error and the SDK sees the error', async () => {
    const failing = tool({
      description: 'Look up an invoice.',
      inputSchema: z.object({ invoice_id: z.string() }),
      execute: async (): Promise<{ found: boolean }> => {
        throw new Error('billing database unavailable');
      },
    });
    const governed = governVercelAITool(dp, 'app.lookup_invoice', failing);
    await expect(governed.execute({ invoice_id: 'INV-1003' }, { toolCallId: 'x', messages: [] })).rejects.toThrow('billing database unavailable');
    const last = (await fx.airlock.store.readAuditForRun(dp.runId!)).at(-1)!;
    expect(last.body).toMatchObject({ outcome: 'error', reportedBy: 'caller', message: 'billing database unavailable' });
  });

  it('a streamed execute is drained to its last value after the decision', async () => {
    const streamed = tool({
      description: 'Look up an invoice.',
      inputSchema: z.object({ invoice_id: z.string() }),
      async *execute({ invoice_id }) {
        yield { status: 'loading' as const, invoice_id };
        yield { status: 'done' as const, invoice_id };
      },
    });
    const governed = governVercelAITool(dp, 'app.lookup_invoice', streamed);
    expect(await governed.execute({ invoice_id: 'INV-1001' }, { toolCallId: 'y', messages: [] })).toEqual({ status: 'done', invoice_id: 'INV-1001' });
  });
});

describe('governVercelAITool', () => {
  it('a tool without execute runs elsewhere: there is nothing to govern here', () => {
    const dp = localDecisionPoint(fx.airlock, { agent: 'agent:billing-bot' });
    const clientSide = tool({ description: 'Ask the user.', inputSchema: z.object({ q: z.string() }) });
    expect(() => governVercelAITool(dp, 'app.lookup_invoice', clientSide)).toThrow(AirlockError);
  });
});
