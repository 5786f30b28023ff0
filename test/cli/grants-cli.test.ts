// `airlock grants`, `grants create` and `grants revoke` as a child process: the live grants listed newest
// first, `--all` with the revoked ones, and bad input refused with exit 2 saying what.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airlock, brokenWorkspace, requireBuild, type BrokenWorkspace } from './cli-helpers.js';

let ws: BrokenWorkspace;
const run = (...args: string[]) => airlock(['-w', ws.dir, ...args]);
const create = (reason: string, ...extra: string[]) =>
  run('grants', 'create', '--as', 'priya', '--workflow', 'refund-desk', '--tool', 'payments.refund', '--max', 'amount_cents=2000', '--equals', 'currency=EUR', '--for', '30m', '--max-uses', '1', '--reason', reason, ...extra);
const listed = async (...args: string[]): Promise<{ id: string; status: string; reason: string }[]> => {
  const r = await run('grants', '--json', ...args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { id: string; status: string; reason: string }[];
};

beforeAll(() => {
  requireBuild();
  ws = brokenWorkspace();
});
afterAll(() => ws?.cleanup());

describe('airlock grants', () => {
  it('creates grants, lists the live ones newest first, revokes one, and lists it with --all', async () => {
    expect((await run('grants')).stdout).toContain('no active grants');
    const ids: string[] = [];
    for (const reason of ['backlog', 'weekend']) {
      const made = await create(reason);
      expect(made.code, made.stderr).toBe(0);
      const id = /granted (grt_[0-9a-f]+)/.exec(made.stdout)?.[1];
      expect(id, made.stdout).toBeDefined();
      ids.push(id as string);
    }
    expect((await listed()).map((g) => [g.id, g.reason])).toEqual([
      [ids[1], 'weekend'],
      [ids[0], 'backlog'],
    ]);
    const revoked = await run('grants', 'revoke', ids[0] as string, '--as', 'priya', '--reason', 'backlog cleared');
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`revoked ${ids[0]} after 0 uses`);
    expect((await listed()).map((g) => g.id)).toEqual([ids[1]]);
    expect((await listed('--all')).map((g) => [g.id, g.status])).toEqual([
      [ids[1], 'active'],
      [ids[0], 'revoked'],
    ]);
  });

  it.each([
    [['--for', '8d'], 'the duration must be 1 to 10080 minutes (a week)'],
    [['--max', 'amount_cents=lots'], '--max amount_cents=lots: `lots` is not a whole number'],
  ])('refuses bad input %j with exit 2, saying what', async (extra, says) => {
    const before = await listed('--all');
    const r = await run('grants', 'create', '--as', 'priya', '--workflow', 'refund-desk', '--tool', 'payments.refund', '--equals', 'currency=EUR', '--reason', 'x', ...(extra.includes('--for') ? [] : ['--for', '30m']), ...extra);
    expect(r.code, r.stdout).toBe(2);
    expect(r.stderr).toContain(says);
    expect(await listed('--all')).toEqual(before);
  });
});
