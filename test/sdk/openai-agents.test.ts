// The OpenAI Agents SDK adapter, with the library's own tool() and a real Runner driven by its ScriptedModel.
import { Agent, RunContext, Runner, tool, type RunItem } from '@openai/agents-core';
import { ScriptedModel, assistantMessage, functionCall } from '@openai/agents-core/testing';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import { governOpenAIAgentsTool, localDecisionPoint, remoteDecisionPoint, type DecisionPoint } from '../../src/sdk/index.js';
import type { ApprovalId } from '../../src/types.js';
import { normalizeRecord, sdkFixture, type SdkFixture } from './fixtures.js';

let fx: SdkFixture;
beforeAll(async () => {
  fx = await sdkFixture();
});
afterAll(async () => {
  await fx?.close();
});

const CREDIT = { invoice_id: 'INV-1001', amount_cents: 2500, reason: 'damaged' };

/** The app's tools, built with the library's tool(), counting what really ran. */
function appTools() {
  const ran: string[] = [];
  const lookup = tool({
    name: 'lookup_invoice',
    description: 'Look up an invoice.',
    parameters: z.object({ invoice_id: z.string() }),
    execute: ({ invoice_id }) => {
      ran.push(`lookup ${invoice_id}`);
      return { invoice_id, amount_cents: 12900 };
    },
  });
  const credit = tool({
    name: 'issue_credit',
    description: 'Credit a customer.',
    parameters: z.object({ invoice_id: z.string(), amount_cents: z.number().int(), reason: z.string() }),
    execute: ({ amount_cents }) => {
      ran.push(`credit ${amount_cents}`);
      return { credited: amount_cents };
    },
  });
  const del = tool({
    name: 'delete_account',
    description: 'Delete an account.',
    parameters: z.object({ customer_id: z.string() }),
    execute: ({ customer_id }) => {
      ran.push(`delete ${customer_id}`);
      return { deleted: true };
    },
  });
  return { ran, lookup, credit, del };
}

function outputs(items: readonly RunItem[]): Record<string, unknown>[] {
  return items.flatMap((i) => (i.type === 'tool_call_output_item' && 'name' in i.rawItem ? [{ tool: i.rawItem.name, output: i.output }] : []));
}

describe.each(['local', 'remote'] as const)('governOpenAIAgentsTool, %s decision point', (kind) => {
  let dp: DecisionPoint;
  beforeAll(() => {
    dp = kind === 'local' ? localDecisionPoint(fx.airlock, { agent: 'agent:billing-bot' }) : remoteDecisionPoint({ url: fx.server.url, token: fx.keys.bot });
  });

  it('in a real run, the model reads Airlock\'s refusals as tool outputs and refused tools never run', async () => {
    const { ran, lookup, credit, del } = appTools();
    const model = new ScriptedModel([
      [
        functionCall('lookup_invoice', { invoice_id: 'INV-1001' }, { callId: 'c1' }),
        functionCall('issue_credit', CREDIT, { callId: 'c2' }),
        functionCall('delete_account', { customer_id: 'C-7' }, { callId: 'c3' }),
      ],
      [assistantMessage('done')],
    ]);
    const agent = new Agent({
      name: 'billing',
      instructions: 'help',
      model,
      tools: [
        governOpenAIAgentsTool(dp, lookup, { as: 'app.lookup_invoice' }),
        governOpenAIAgentsTool(dp, credit, { as: 'app.issue_credit' }),
        governOpenAIAgentsTool(dp, del, { as: 'app.delete_account' }),
      ],
    });
    const result = await new Runner({ tracingDisabled: true }).run(agent, 'credit me and delete my account');
    expect(result.finalOutput).toBe('done');
    expect(ran).toEqual(['lookup INV-1001']);
    const byTool = Object.fromEntries(outputs(result.newItems).map((o) => [o.tool, o.output]));
    expect(byTool['lookup_invoice']).toEqual({ invoice_id: 'INV-1001', amount_cents: 12900 });
    expect(byTool['issue_credit']).toMatch(/^approval required \(single\): approval apr_[0-9a-f]+; call again with the same arguments once approved and it runs once \(credits above 10\.00 need one approver\)$/);
    expect(byTool['delete_account']).toBe(
      'denied by Airlock: accounts are deleted by a person in the admin console, never by an agent (policies: no-account-deletion)',
    );
    // The model's next request carries the refusal text as the function call's output.
    const sent = JSON.stringify(model.lastCall?.request.input);
    expect(sent).toContain('never by an agent (policies: no-account-deletion)');

    // A person approves; the model calls again with the same arguments; it runs once.
    const approvalId = /approval (apr_[0-9a-f]+)/.exec(String(byTool['issue_credit']))![1]!;
    await vote(fx.airlock.approvalDeps, approvalId as ApprovalId, localApprover(fx.airlock.principal('user:robin')), 'approve', 'ok');
    model.enqueue([functionCall('issue_credit', CREDIT, { callId: 'c4' })], [assistantMessage('credited')]);
    const second = await new Runner({ tracingDisabled: true }).run(agent, 'approved, go ahead');
    expect(outputs(second.newItems)).toEqual([{ tool: 'issue_credit', output: { credited: 2500 } }]);
    expect(ran).toEqual(['lookup INV-1001', 'credit 2500']);

    const records = (await fx.airlock.store.readAuditForRun(dp.runId!)).map(normalizeRecord);
    expect(records.filter((r) => r['type'] === 'action.authorized').map((r) => r['tool'])).toEqual(['app.lookup_invoice', 'app.issue_credit']);
    expect(records.filter((r) => r['type'] === 'action.executed')).toHaveLength(2);
  });

  it('without `as`, the function name is the contract name: undeclared, denied by default', async () => {
    const { ran, lookup } = appTools();
    const governed = governOpenAIAgentsTool(dp, lookup);
    const out = await governed.invoke(new RunContext(), JSON.stringify({ invoice_id: 'INV-1001' }));
    expect(out).toBe('denied by Airlock: tool `lookup_invoice` is not declared in the workspace (deny by default)');
    expect(ran).toEqual([]);
  });

  it('input that is not a JSON object never reaches the tool', async () => {
    const { ran, lookup } = appTools();
    const governed = governOpenAIAgentsTool(dp, lookup, { as: 'app.lookup_invoice' });
    expect(await governed.invoke(new RunContext(), '{not json')).toBe('invalid arguments: the tool input is not JSON; fix them and call again');
    expect(await governed.invoke(new RunContext(), '[1]')).toBe('invalid arguments: the tool input must be a JSON object; fix them and call again');
    expect(await governed.invoke(new RunContext(), JSON.stringify({ invoice_id: 7 }))).toMatch(/^invalid arguments: .*invoice_id/);
    expect(ran).toEqual([]);
  });

  it('keeps everything else of the tool (name, schema, strictness, approval policy)', () => {
    const { lookup } = appTools();
    const governed = governOpenAIAgentsTool(dp, lookup, { as: 'app.lookup_invoice' });
    expect({ ...governed, invoke: null }).toEqual({ ...lookup, invoke: null });
    expect(governed.invoke).not.toBe(lookup.invoke);
  });
});

describe('governOpenAIAgentsTool: failures', () => {
  it('a tool that throws (errorFunction: null) is reported as an error and the error propagates', async () => {
    const dp = localDecisionPoint(fx.airlock, { agent: 'agent:billing-bot' });
    const failing = tool({
      name: 'lookup_invoice',
      description: 'Look up an invoice.',
      parameters: z.object({ invoice_id: z.string() }),
      errorFunction: null,
      execute: () => {
        throw new Error('billing database unavailable');
      },
    });
    const governed = governOpenAIAgentsTool(dp, failing, { as: 'app.lookup_invoice' });
    await expect(governed.invoke(new RunContext(), JSON.stringify({ invoice_id: 'INV-1001' }))).rejects.toThrow('billing database unavailable');
    const last = (await fx.airlock.store.readAuditForRun(dp.runId!)).at(-1)!;
    expect(last.type).toBe('action.executed');
    expect(last.body).toMatchObject({ outcome: 'error', reportedBy: 'caller', message: 'billing database unavailable' });
  });

  it('a tool whose default error function turns a failure into text is reported ok with that text (documented limit)', async () => {
    const dp = localDecisionPoint(fx.airlock, { agent: 'agent:billing-bot' });
    const swallowing = tool({
      name: 'lookup_invoice',
      description: 'Look up an invoice.',
      parameters: z.object({ invoice_id: z.string() }),
      execute: () => {
        throw new Error('billing database unavailable');
      },
    });
    const out = await governOpenAIAgentsTool(dp, swallowing, { as: 'app.lookup_invoice' }).invoke(new RunContext(), JSON.stringify({ invoice_id: 'INV-1001' }));
    expect(out).toMatch(/An error occurred while running the tool/);
    const last = (await fx.airlock.store.readAuditForRun(dp.runId!)).at(-1)!;
    expect(last.body).toMatchObject({ outcome: 'ok', reportedBy: 'caller' });
  });
});
