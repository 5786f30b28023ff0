// Irreversible side effects raise their risk class one step; compensations (undo actions) keep theirs.
import { describe, expect, it } from 'vitest';
import { withRaisedRisk } from '../../src/config/checks.js';
import { loadWorkspace } from '../../src/config/load.js';
import type { ToolContract } from '../../src/config/schema.js';
import { copyExample } from './helpers.js';

const tool = (over: Partial<ToolContract>): ToolContract => ({ name: 'x.y', effect: 'financial', risk: 'low', irreversible: true, ...over }) as ToolContract;

describe('risk of irreversible effects', () => {
  it('raises an irreversible medium-risk side effect to high; low, high, critical, reads, reversible tools and compensations keep theirs', () => {
    const none = new Set<string>();
    expect(withRaisedRisk(tool({ risk: 'medium' }), none).risk).toBe('high');
    expect(withRaisedRisk(tool({ effect: 'write', risk: 'medium' }), none).risk).toBe('high');
    expect(withRaisedRisk(tool({ risk: 'low' }), none).risk).toBe('low');
    expect(withRaisedRisk(tool({ risk: 'high' }), none).risk).toBe('high');
    expect(withRaisedRisk(tool({ risk: 'critical' }), none).risk).toBe('critical');
    expect(withRaisedRisk(tool({ risk: 'medium', irreversible: false }), none).risk).toBe('medium');
    expect(withRaisedRisk(tool({ risk: 'medium', effect: 'read' }), none).risk).toBe('medium');
    expect(withRaisedRisk(tool({ risk: 'medium' }), new Set(['x.y'])).risk).toBe('medium');
  });

  it('applies to the loaded workspace: a refund nothing could undo would be high risk', async () => {
    const ws = await copyExample();
    try {
      // payments.refund made irreversible (no compensation): medium → high.
      await ws.edit('airlock.yaml', '    compensation:\n      tool: payments.reverse_refund\n      args: { refund_id: "$result.refund_id" }\n', '    irreversible: true\n');
      const loaded = await loadWorkspace(ws.dir);
      expect(loaded.tools.get('payments.refund')?.risk).toBe('high');
      expect(loaded.tools.get('payments.reverse_refund')?.risk).toBe('high'); // no longer anyone's undo: raised too
      expect(loaded.tools.get('mail.discard_draft')?.risk).toBe('low'); // the undo of mail.draft
      expect(loaded.tools.get('tickets.set_status')?.risk).toBe('low');
      expect(loaded.tools.get('mail.send')?.risk).toBe('high');
    } finally {
      await ws.remove();
    }
  });
});
