// Irreversible side effects raise their risk class one step; compensations (undo actions) keep theirs.
import { describe, expect, it } from 'vitest';
import { withRaisedRisk } from '../../src/config/checks.js';
import { loadWorkspace } from '../../src/config/load.js';
import type { ToolContract } from '../../src/config/schema.js';
import { copyExample } from './helpers.js';

const tool = (over: Partial<ToolContract>): ToolContract => ({ name: 'x.y', effect: 'write', risk: 'low', irreversible: true, ...over }) as ToolContract;

describe('risk of irreversible effects', () => {
  it('is raised one step for an irreversible side effect, never for reads, compensations, or above high', () => {
    const none = new Set<string>();
    expect(withRaisedRisk(tool({ risk: 'low' }), none).risk).toBe('medium');
    expect(withRaisedRisk(tool({ risk: 'medium' }), none).risk).toBe('high');
    expect(withRaisedRisk(tool({ risk: 'high' }), none).risk).toBe('high');
    expect(withRaisedRisk(tool({ risk: 'critical' }), none).risk).toBe('critical');
    expect(withRaisedRisk(tool({ irreversible: false }), none).risk).toBe('low');
    expect(withRaisedRisk(tool({ effect: 'read' }), none).risk).toBe('low');
    expect(withRaisedRisk(tool({ risk: 'low' }), new Set(['x.y'])).risk).toBe('low');
  });

  it('applies to the loaded workspace: an irreversible write that undoes nothing needs approval at execute-low', async () => {
    const ws = await copyExample();
    try {
      // tickets.set_status made irreversible (no compensation): low → medium.
      await ws.edit('airlock.yaml', '    compensation:\n      tool: tickets.set_status\n      args: { ticket_id: "$args.ticket_id", status: "$result.previous_status" }\n', '    irreversible: true\n');
      const loaded = await loadWorkspace(ws.dir);
      expect(loaded.tools.get('tickets.set_status')?.risk).toBe('medium');
      expect(loaded.tools.get('tickets.delete_comment')?.risk).toBe('low'); // the compensation of tickets.comment
      expect(loaded.tools.get('mail.send')?.risk).toBe('high');
    } finally {
      await ws.remove();
    }
  });
});
