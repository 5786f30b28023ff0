// The pilot's commands as a new user types them: the decision proposed, signed and exported; autonomy
// demoted and back; every refusal and bad input exits 2 saying why, and records nothing.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspaceStore, copyAcme } from '../helpers/workspace.js';
import { airlock, requireBuild } from './cli-helpers.js';

describe('airlock pilot, autonomy', () => {
  let ws: ReturnType<typeof copyAcme>;
  beforeAll(() => {
    requireBuild();
    ws = copyAcme();
  });
  afterAll(() => ws?.cleanup());
  const cli = (...args: string[]) => airlock(['-w', ws.dir, ...args]);

  it('proposes, signs and exports a decision; refuses a bad outcome, an unnamed signer and a missing reason with exit 2', async () => {
    const bad = await cli('pilot', 'decide', 'refund-desk', '--outcome', 'maybe', '--reason', 'x', '--as', 'dana');
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('the decision is one of scale, redesign, stop, not `maybe`')]);
    const proposed = await cli('pilot', 'decide', 'refund-desk', '--outcome', 'redesign', '--reason', 'steered refunds need a stricter policy first', '--as', 'dana');
    expect(proposed.code).toBe(0);
    expect(proposed.stdout).toContain('still needs: user:priya');
    const stranger = await cli('pilot', 'sign', 'refund-desk', '--as', 'sam');
    expect([stranger.code, stranger.stderr]).toEqual([2, expect.stringContaining('user:sam is not among the people who sign this decision')]);
    // One machine account cannot sign as a second person: priya signs with her own key.
    const sameLogin = await cli('pilot', 'sign', 'refund-desk', '--as', 'priya');
    expect([sameLogin.code, sameLogin.stderr]).toEqual([2, expect.stringContaining('this login signed this decision already as user:dana')]);
    const priyaKey = readFileSync(path.join(ws.dir, 'demo-keys', 'priya.key'), 'utf8').trim();
    expect((await cli('pilot', 'sign', 'refund-desk', '--key', priyaKey)).stdout).toContain('the decision stands');
    const exported = JSON.parse((await cli('pilot', 'decision', 'refund-desk', '--json')).stdout) as { outcome: string; missing: string[]; signOffs: { by: string }[] };
    expect(exported).toMatchObject({ outcome: 'redesign', missing: [], signOffs: [{ by: 'user:dana' }, { by: 'user:priya' }] });
    expect((await cli('pilot', 'decide', 'payroll', '--outcome', 'stop', '--reason', 'x', '--as', 'dana')).code).toBe(2);
  });

  it('demotes with a reason and refuses a promotion the rules do not recommend, each with exit 2 for what is refused', async () => {
    const noReason = await cli('autonomy', 'refund-desk', '--demote', '--as', 'dana');
    expect([noReason.code, noReason.stderr]).toEqual([2, expect.stringContaining('--demote needs --reason TEXT')]);
    expect((await cli('autonomy', 'refund-desk', '--demote', '--as', 'refund-bot', '--reason', 'x')).code).toBe(2);
    const notOwner = await cli('autonomy', 'refund-desk', '--demote', '--as', 'kai', '--reason', 'x');
    expect([notOwner.code, notOwner.stderr]).toEqual([2, expect.stringContaining('owns no workflow')]);
    const demoted = await cli('autonomy', 'refund-desk', '--demote', '--as', 'dana', '--reason', 'two wrong refunds this week');
    expect([demoted.code, demoted.stdout]).toEqual([0, expect.stringContaining('refund-desk now runs at prepare (recorded)')]);
    expect((await cli('autonomy', 'refund-desk')).stdout).toContain('refund-desk runs at prepare');
    const promote = await cli('autonomy', 'refund-desk', '--sign', '--as', 'dana');
    expect([promote.code, promote.stderr]).toEqual([2, expect.stringContaining('refused: the rules do not recommend a step up now')]);
    const store = await openWorkspaceStore(ws.dir);
    try {
      const types = (await store.readAudit(1, 100_000)).map((r) => r.type);
      expect(types.filter((t) => t === 'autonomy.changed')).toHaveLength(1);
      expect(types.filter((t) => t === 'autonomy.signed')).toHaveLength(0);
    } finally {
      await store.close();
    }
  });
});
