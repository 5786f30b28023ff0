// An OpenAI-compatible Chat Completions endpoint whose "model" is a scripted playbook: each request's
// messages are read back into the run's history, the playbook decides the next turn from it, and the
// answer goes back as a completion. Driving the demo through it exercises the openai-chat adapter
// (the official SDK, tool names on the wire, tool results as the model reads them) end to end while
// the model's choices stay exactly the scripted ones.
import type { HistoryItem } from '../../src/orchestration/model.js';
import { ScriptedModel, loadPlaybook } from '../../src/routing/providers/scripted.js';
import { wireNames } from '../../src/routing/providers/common.js';
import type { JsonObject } from '../../src/types.js';
import type { Answer, Seen } from './fake-model-endpoint.js';

interface ChatMessage {
  role: string;
  content: string | null;
  tool_call_id?: string;
  tool_calls?: { id: string; function: { name: string; arguments: string } }[];
}

/** A reply function for `FakeEndpoint` answering every request from `playbookFile`; `tools` are the workflow's tool names. */
export function playbookReplies(playbookFile: string, tools: readonly string[]): (seen: Seen) => Promise<Answer> {
  const model = new ScriptedModel('scripted-behind-http', loadPlaybook(playbookFile));
  const { toWire, fromWire } = wireNames(tools.map((name) => ({ name, description: '', inputSchema: {} })));
  return async (seen) => {
    const messages = seen.body.messages as ChatMessage[];
    const task = String(messages.find((m) => m.role === 'user')?.content ?? '');
    const input = JSON.parse(task.slice(task.indexOf('\n') + 1)) as JsonObject;
    const history: HistoryItem[] = [];
    for (const m of messages.slice(2)) {
      if (m.role === 'assistant' && m.tool_calls?.[0]) {
        const c = m.tool_calls[0];
        history.push({ kind: 'tool_call', id: c.id, tool: fromWire.get(c.function.name) ?? c.function.name, args: JSON.parse(c.function.arguments) as JsonObject });
      } else if (m.role === 'tool') {
        const call = history.find((h) => h.kind === 'tool_call' && h.id === m.tool_call_id);
        const read = JSON.parse(String(m.content)) as { status: 'ok'; result: JsonObject };
        history.push({ kind: 'tool_result', id: String(m.tool_call_id), tool: call?.kind === 'tool_call' ? call.tool : '?', status: read.status, content: read.result });
      }
    }
    const body = (message: object, finish: string) => ({
      id: 'cmpl',
      object: 'chat.completion',
      created: 1,
      model: 'scripted-behind-http',
      choices: [{ index: 0, message: { role: 'assistant', content: null, ...message }, finish_reason: finish }],
      usage: { prompt_tokens: JSON.stringify(messages).length, completion_tokens: 20, total_tokens: JSON.stringify(messages).length + 20 },
    });
    const turn = await model.next({ workflow: 'w', input, tools: [], history });
    if (turn.kind === 'tool_call') {
      const call = { id: `call_${history.length}`, type: 'function', function: { name: toWire.get(turn.tool) ?? turn.tool, arguments: JSON.stringify(turn.args) } };
      return { status: 200, body: body({ content: turn.reasoning ?? null, tool_calls: [call] }, 'tool_calls') };
    }
    return { status: 200, body: body({ content: turn.kind === 'final' ? turn.text : '' }, 'stop') };
  };
}
