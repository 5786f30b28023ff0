// The SDK example: an OpenAI Agents SDK agent whose tools are plain functions in this process, each
// governed by Airlock. A scripted model stands in for the LLM (deterministic, no network, no key).
// Run: `npm run build && node dist/examples/sdk-agent/agent.js [workspace-folder]`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, Runner, tool, type RunItem } from '@openai/agents-core';
import { ScriptedModel, assistantMessage, functionCall } from '@openai/agents-core/testing';
import { z } from 'zod';
import { governOpenAIAgentsTool, localApprover, localDecisionPoint, openAirlock, vote, type RunId } from 'airlock';

// ---- the app: its own data and functions. Airlock never sees or calls them. ----------------------

const invoices = new Map([['INV-1001', { invoice_id: 'INV-1001', customer_id: 'C-7', amount_cents: 12900, status: 'paid' }]]);
const credits: { invoice_id: string; amount_cents: number; reason: string }[] = [];
const accounts = new Set(['C-7']);

const lookupInvoice = tool({
  name: 'lookup_invoice',
  description: 'Look up an invoice by id.',
  parameters: z.object({ invoice_id: z.string() }),
  execute: ({ invoice_id }) => invoices.get(invoice_id) ?? { error: `no invoice ${invoice_id}` },
});

const issueCredit = tool({
  name: 'issue_credit',
  description: "Credit a customer's account, in integer cents.",
  parameters: z.object({ invoice_id: z.string(), amount_cents: z.number().int(), reason: z.string() }),
  execute: (credit) => {
    credits.push(credit);
    return { credited: credit.amount_cents, invoice_id: credit.invoice_id };
  },
});

const deleteAccount = tool({
  name: 'delete_account',
  description: 'Delete a customer account.',
  parameters: z.object({ customer_id: z.string() }),
  execute: ({ customer_id }) => ({ deleted: accounts.delete(customer_id) }),
});

// ---- the agent, governed --------------------------------------------------------------------------

const CREDIT = { invoice_id: 'INV-1001', amount_cents: 2500, reason: 'the item arrived damaged' };

/** Runs the example against the workspace in `dir`; returns what it printed. */
export async function main(dir: string, print: (line: string) => void = console.log): Promise<void> {
  const airlock = await openAirlock(dir);
  try {
    // One decision point = one Airlock run for this agent. Each tool is its contract in airlock.yaml.
    const dp = localDecisionPoint(airlock, { agent: 'agent:billing-bot' });
    const tools = [
      governOpenAIAgentsTool(dp, lookupInvoice, { as: 'app.lookup_invoice' }),
      governOpenAIAgentsTool(dp, issueCredit, { as: 'app.issue_credit' }),
      governOpenAIAgentsTool(dp, deleteAccount, { as: 'app.delete_account' }),
    ];
    // What the "LLM" does: read the invoice, credit 25.00, then try to delete the account.
    const model = new ScriptedModel([
      [functionCall('lookup_invoice', { invoice_id: 'INV-1001' }, { callId: 'call_1' })],
      [functionCall('issue_credit', CREDIT, { callId: 'call_2' })],
      [functionCall('delete_account', { customer_id: 'C-7' }, { callId: 'call_3' })],
      [assistantMessage('The credit waits for approval; I may not delete accounts.')],
    ]);
    const agent = new Agent({ name: 'billing assistant', instructions: 'Resolve billing complaints.', model, tools });
    const runner = new Runner({ tracingDisabled: true });

    print('1. the agent works the complaint');
    showToolOutputs((await runner.run(agent, 'Customer C-7: invoice INV-1001 arrived damaged. Credit me and close my account.')).newItems, print);

    // A person approves the credit (in real life: the console, `airlock approve ID --as user:robin`, or POST /v1/approvals/ID/approve).
    const [pending] = await airlock.store.listApprovals({ status: 'pending', ...(dp.runId ? { runId: dp.runId as RunId } : {}) });
    if (!pending) throw new Error('expected the credit to wait for approval');
    await vote(airlock.approvalDeps, pending.id, localApprover(airlock.principal('user:robin')), 'approve', 'damage confirmed on the photo');
    print(`\n2. robin approves ${pending.id}; the agent calls again with the same arguments`);
    model.enqueue([functionCall('issue_credit', CREDIT, { callId: 'call_4' })], [assistantMessage('Credited 25.00.')]);
    showToolOutputs((await runner.run(agent, 'The credit was approved; please issue it.')).newItems, print);

    const closed = await dp.close();
    print(`\n3. run ${closed.runId} ${closed.status}; credits issued: ${JSON.stringify(credits)}; account C-7 still exists: ${accounts.has('C-7')}`);
    print(`   the audit trail: node dist/src/cli/main.js -w ${dir} runs show ${closed.runId}`);
  } finally {
    await airlock.close();
  }
}

/** Prints each tool call of a run and what the model was told. */
function showToolOutputs(items: readonly RunItem[], print: (line: string) => void): void {
  for (const item of items) {
    if (item.type !== 'tool_call_output_item') continue;
    const name = 'name' in item.rawItem ? item.rawItem.name : item.rawItem.type;
    print(`   ${name} -> ${typeof item.output === 'string' ? item.output : JSON.stringify(item.output)}`);
  }
}

// Run when started as a program (not when imported by a test).
// Without an argument: this example's workspace, in the package `airlock` resolves to.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const packageRoot = path.dirname(fileURLToPath(import.meta.resolve('airlock/package.json')));
  main(process.argv[2] ?? path.join(packageRoot, 'examples/sdk-agent')).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
