// `airlock stop | resume | halts` as a child process: what they print, and bad input (exit 2, saying what
// and where). The halt's effect across processes is test/security/kill-switch.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airlock, brokenWorkspace, requireBuild, type BrokenWorkspace } from './cli-helpers.js';

let ws: BrokenWorkspace;
const run = (...args: string[]) => airlock(['-w', ws.dir, ...args]);

beforeAll(() => {
  requireBuild();
  ws = brokenWorkspace();
});
afterAll(() => ws?.cleanup());

describe('airlock stop, resume and halts', () => {
  it('stops a scope, lists it, says it is already stopped, and lifts it (an owner, with a reason)', async () => {
    expect((await run('halts')).stdout).toContain('nothing is halted');
    const stop = await run('stop', '--connector', 'payments', '--as', 'dana', '--reason', 'provider incident');
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/^stopped connector `payments` \(hlt_[0-9a-f]{12}\) by user:dana at \S+: provider incident$/m);
    expect(stop.stdout).toContain('an owner resumes it: airlock resume --connector payments --as USER --reason "..."');
    const again = await run('stop', '--connector', 'payments', '--as', 'sam', '--reason', 'same incident');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^already stopped: hlt_\S+ {2}active {2}connector `payments` {2}stopped by user:dana/m);
    const list = await run('halts', '--json');
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ scope: 'connector:payments', status: 'active', reason: 'provider incident' })]);

    const notYours = await run('resume', '--connector', 'payments', '--as', 'dana', '--reason', 'fine now');
    expect(notYours.code).toBe(2);
    expect(notYours.stderr).toContain('refused: only a security or platform owner of a workflow it touches resumes connector `payments`');
    const lifted = await run('resume', '--connector', 'payments', '--as', 'sam', '--reason', 'provider recovered');
    expect(lifted.code, lifted.stderr).toBe(0);
    expect(lifted.stdout).toMatch(/^resumed connector `payments` \(hlt_\S+, halted \d+ s\) by user:sam: provider recovered$/m);
    expect((await run('halts')).stdout).toContain('nothing is halted');
    const history = await run('halts', '--all');
    expect(history.stdout).toMatch(/lifted {2}by user:sam at \S+: provider recovered/);
  });

  const cases: [string[], string][] = [
    [['stop', '--as', 'dana', '--reason', 'x'], 'airlock stop: say what: a WORKFLOW, --principal kind:id, --connector NAME or --all'],
    [['stop', 'refund-desk', '--all', '--as', 'dana', '--reason', 'x'], 'airlock stop: name one scope, not `refund-desk` and --all'],
    [['stop', 'no-such-desk', '--as', 'dana', '--reason', 'x'], 'airlock stop: workflow `no-such-desk` is not declared (declared: refund-desk)'],
    [['stop', '--principal', 'refund-bot', '--as', 'dana', '--reason', 'x'], 'airlock stop: --principal `refund-bot` is not `kind:id`'],
    [['stop', '--principal', 'agent:nobody', '--as', 'dana', '--reason', 'x'], 'airlock stop: principal `agent:nobody` is not declared'],
    [['stop', '--connector', 'fax', '--as', 'dana', '--reason', 'x'], 'airlock stop: connector `fax` is not declared'],
    [['stop', 'refund-desk', '--as', 'dana', '--reason', '  '], '--reason: a reason is required'],
    [['stop', 'refund-desk', '--as', 'dana', '--reason', 'x'.repeat(501)], '--reason: the reason is 501 characters; at most 500'],
    [['stop', 'refund-desk', '--as', 'nobody', '--reason', 'x'], 'principal `nobody` is not declared in the workspace'],
    [['stop', 'refund-desk', '--as', 'priya', '--reason', 'x'], 'refused: `user:priya` owns no workflow that workflow `refund-desk` touches'],
    [['stop', 'refund-desk', '--as', 'refund-bot', '--reason', 'x'], 'refused: `agent:refund-bot` is not a person'],
    [['stop', 'refund-desk', '--as', 'dana'], "required option '--reason <text>' not specified"],
    [['resume', 'refund-desk'], 'airlock resume refund-desk: lifting a halt needs an owner and a reason'],
    [['resume', 'refund-desk', '--reason', 'x'], 'airlock resume: --as USER is required to lift a halt'],
    [['resume', 'refund-desk', '--as', 'dana', '--reason', 'x'], 'airlock resume: workflow `refund-desk` is not halted'],
    [['resume', 'refund-desk', '--as', 'dana'], '--reason: a reason is required'],
    [['resume', 'hlt_000000000000', '--as', 'dana', '--reason', 'x'], 'airlock resume: halt `hlt_000000000000` is not halted (no such halt)'],
    [['resume', 'run_0123456789abcdef', '--as', 'dana', '--reason', 'x'], 'is a run; `airlock resume run_0123456789abcdef` (without --as) continues it'],
    [['resume', 'run_0123456789abcdef'], 'run `run_0123456789abcdef` does not exist'],
  ];
  it.each(cases.map(([args, message]) => ({ cmd: args.map((x) => (x.length > 40 ? `${x.slice(0, 10)}...` : x)).join(' '), args, message })))('bad input: `airlock $cmd` exits 2 saying what', async ({ args, message }) => {
    const r = await run(...args);
    expect(r.code, r.stdout).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
