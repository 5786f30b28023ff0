// The run timeline (`airlock runs show`): each model turn on its own line with its tokens and cost, the
// set-aside answers of risk routing, and "unpriced" for a route without a price table.
import { describe, expect, it } from 'vitest';
import { renderTimeline } from '../../src/cli/render.js';
import type { AuditRecord } from '../../src/store/store.js';
import type { Json } from '../../src/types.js';

const HASH = '0'.repeat(64) as AuditRecord['chainHash'];
let seq = 0;
const record = (type: string, body: Record<string, Json>): AuditRecord => ({
  seq: ++seq,
  schemaVersion: 1,
  type,
  time: `2026-12-01T10:00:0${seq % 10}.123Z`,
  runId: 'run_1',
  principal: 'agent:bot',
  onBehalfOf: null,
  body,
  prevHash: HASH,
  leafHash: HASH,
  chainHash: HASH,
});
/** The timeline without colours (they depend on the terminal). */
const plain = (text: string): string => text.replace(/\u001b\[\d+m/g, '');

describe('renderTimeline: model turns', () => {
  it('prints each model turn before the step it proposed: route, provider/model, tokens, cost or unpriced, why; a set-aside answer under it', () => {
    seq = 0;
    const called = { provider: 'openai', model: 'gpt-4o-mini', inputTokens: 120, outputTokens: 30, cost: 0.000042, currency: 'USD', priceVersion: '2026-12' };
    const text = plain(
      renderTimeline([
        record('model.called', { route: 'llm', ...called, why: 'routing rule 2 (default)', setAside: { tool: 'mail.send', risk: 'high', to: 'strong' } }),
        record('model.called', { route: 'strong', provider: 'anthropic', model: 'claude-x', inputTokens: 900, outputTokens: 12, cost: 0.0063, currency: 'USD', priceVersion: 'v1', why: 'routing rule 1 (high-risk proposal): the proposed `mail.send` is high risk' }),
        record('action.intent', { tool: 'mail.send', step: 1 }),
        record('model.called', { route: 'local', provider: 'openai', model: 'llama3.1:8b', inputTokens: 80, outputTokens: 5, cost: null, currency: null, priceVersion: null, why: 'the workflow names it' }),
        record('model.called', { route: 'playbook', provider: 'airlock-scripted', model: 'playbook', inputTokens: null, outputTokens: null, cost: null, currency: null, priceVersion: null }),
      ]),
    );
    expect(text.split('\n')).toEqual([
      '    #1 10:00:01.123 model   llm (openai/gpt-4o-mini)  120 in / 30 out tokens, 0.000042 USD  — routing rule 2 (default)',
      '                      set aside: proposed mail.send (high risk) → strong',
      '    #2 10:00:02.123 model   strong (anthropic/claude-x)  900 in / 12 out tokens, 0.0063 USD  — routing rule 1 (high-risk proposal): the proposed `mail.send` is high risk',
      '    #3 10:00:03.123 propose mail.send',
      '    #4 10:00:04.123 model   local (openai/llama3.1:8b)  80 in / 5 out tokens, unpriced  — the workflow names it',
      '    #5 10:00:05.123 model   playbook (airlock-scripted/playbook)  tokens not reported, unpriced',
    ]);
  });

  it('keeps what a model wrote on one line, without control characters', () => {
    seq = 0;
    const text = plain(renderTimeline([record('model.called', { route: 'llm', provider: 'openai', model: 'm', inputTokens: 1, outputTokens: 1, cost: 0, currency: 'EUR', priceVersion: 'p', setAside: { tool: 'evil\u001b[2J\ntool', risk: 'high', to: 'strong' } })]));
    expect(text.split('\n')).toEqual(['    #1 10:00:01.123 model   llm (openai/m)  1 in / 1 out tokens, 0 EUR', '                      set aside: proposed evil[2J tool (high risk) → strong']);
  });

  it('prints an unusable reply, and whether the model was asked once more or the run ended', () => {
    seq = 0;
    const text = plain(
      renderTimeline([
        record('model.malformed', { problem: 'invalid-arguments', detail: 'the arguments are not JSON (Unexpected end of JSON input)', tool: 'payments.refund', excerpt: '{"a":', repair: true }),
        record('model.malformed', { problem: 'truncated', detail: 'the reply hit the token limit (finish_reason length)', tool: null, excerpt: null, repair: false }),
      ]),
    );
    expect(text.split('\n')).toEqual([
      '    #1 10:00:01.123 unusable model reply, invalid-arguments (payments.refund): the arguments are not JSON (Unexpected end of JSON input)  (the model is told, and asked once more)',
      '    #2 10:00:02.123 unusable model reply, truncated: the reply hit the token limit (finish_reason length)  (again after a repair turn: the run ends)',
    ]);
  });
});
