// The policy lifecycle through the real CLI on an Acme copy: `policy versions` and `policy deploy` (who,
// why, the files; the same set again records nothing), the warning `demo` prints once the loaded set is
// not the latest deployed, `policy shadow` (set, report, clear) with a demo run in between, and bad
// input (exit 2): not a person, no message, a draft that does not compile, modes mixed.
import { appendFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyAcme, openWorkspaceStore } from '../helpers/workspace.js';
import { airlock, requireBuild } from './cli-helpers.js';

describe('airlock policy deploy, versions and shadow', () => {
  let ws: ReturnType<typeof copyAcme>;
  let draft: string;
  const cli = (...args: string[]) => airlock(['-w', ws.dir, 'policy', ...args], { timeoutMs: 60_000 });

  beforeAll(() => {
    requireBuild();
    ws = copyAcme();
    // The workspace's own policies plus a freeze on refunds: the draft differs only there.
    draft = path.join(ws.dir, 'drafts');
    mkdirSync(draft, { recursive: true });
    cpSync(path.join(ws.dir, 'policies'), draft, { recursive: true });
    writeFileSync(path.join(draft, 'no-refunds.cedar'), '@id("no-refunds")\n@reason("refunds are frozen")\nforbid (principal, action == Airlock::Action::"call", resource == Airlock::Tool::"payments.refund");\n');
  });
  afterAll(() => ws?.cleanup());

  it('deploys the loaded set once, lists versions newest first, and says when the loaded set is not the latest deployed', async () => {
    const none = await cli('versions');
    expect([none.code, none.stdout]).toEqual([0, expect.stringContaining('no policy set was ever deployed')]);
    expect((await cli('versions', '--check')).code).toBe(1);

    const first = await cli('deploy', '--as', 'user:dana', '--message', 'the pilot set');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^deployed policy set [0-9a-f]{12} \(\d+ policies, 4 file\(s\)\) by user:dana at \S+ \(pol_[0-9a-f]{12}\): the pilot set$/m);
    expect(first.stdout).toContain('the first deployment on record');
    const again = await cli('deploy', '--as', 'dana', '--message', 'again');
    expect([again.code, again.stdout]).toEqual([0, expect.stringMatching(/^already deployed: policy set [0-9a-f]{12} is the latest deployed \(by user:dana .*: the pilot set\); nothing recorded$/m)]);
    expect((await cli('versions', '--check')).stdout).toMatch(/^ok: the loaded set [0-9a-f]{12} is the latest deployed$/m);

    // A policy added to the files: what is loaded (and enforced) is no longer what was deployed.
    appendFileSync(path.join(ws.dir, 'policies', 'support.cedar'), '\n@id("no-service-refunds")\nforbid (principal is Airlock::Service, action == Airlock::Action::"call", resource == Airlock::Tool::"payments.refund");\n');
    const demo = await airlock(['-w', ws.dir, 'demo'], { timeoutMs: 60_000 });
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/^warning: the policy set loaded from the workspace \([0-9a-f]{12}\) is not the latest deployed \(it was never deployed\)\.$/m);
    expect(demo.stdout).toMatch(/^ {2}latest deployed: [0-9a-f]{12} by user:dana at \S+: the pilot set$/m);
    expect(demo.stdout).toContain(`policy deploy --as USER --message "..."`);
    expect((await cli('versions', '--check')).code).toBe(1);

    expect((await cli('deploy', '--as', 'user:priya', '--message', 'services never refund')).code).toBe(0);
    const listed = await cli('versions', '--json');
    const v = JSON.parse(listed.stdout) as { standing: string; versions: { by: string; message: string; files: string[] }[] };
    expect(v.standing).toBe('latest');
    expect(v.versions.map((x) => [x.by, x.message])).toEqual([
      ['user:priya', 'services never refund'],
      ['user:dana', 'the pilot set'],
    ]);
    expect(v.versions[0]?.files).toContain('policies/support.cedar');
    const clean = await airlock(['-w', ws.dir, 'demo'], { timeoutMs: 60_000 });
    expect(clean.stdout).not.toContain('is not the latest deployed');

    // Each deployment is on the trail with who, why and each file's hash; the texts are kept with it.
    const store = await openWorkspaceStore(ws.dir);
    try {
      const deployed = (await store.listPolicyEvents('deployed')).map((e) => e.files.find((f) => f.file === 'policies/support.cedar')?.text ?? '');
      expect(deployed[0]).toContain('no-service-refunds');
      expect(deployed[1]).not.toContain('no-service-refunds');
    } finally {
      await store.close();
    }
    const verified = await airlock(['-w', ws.dir, 'audit', 'verify']);
    expect(verified.code, verified.stderr).toBe(0);
  }, 180_000);

  it('sets a draft as the shadow, reports what it would have changed after a demo run, and clears it', async () => {
    const set = await cli('shadow', draft, '--as', 'user:dana', '--message', 'freeze refunds?');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^shadow set: [0-9a-f]{12} \(\d+ policies\) by user:dana at \S+ \(pol_[0-9a-f]{12}\): freeze refunds\?$/m);
    expect((await cli('shadow', draft, '--as', 'user:dana', '--message', 'again')).stdout).toMatch(/^already the shadow: /m);

    const demo = await airlock(['-w', ws.dir, 'demo'], { timeoutMs: 60_000 });
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/awaiting.approval|waiting for/i);

    const report = await cli('shadow', '--report', '--since', '1d');
    expect(report.code).toBe(1);
    expect(report.stdout).toMatch(/^shadow [0-9a-f]{12} active, set by user:dana at \S+: freeze refunds\?$/m);
    expect(report.stdout).toMatch(/^[1-9]\d* same, 1 newly denied, 0 newly allowed, 0 obligation changed$/m);
    expect(report.stdout).toMatch(/^ {2}#\d+ \S+ payments\.refund by agent:refund-bot \(run run_\w+\): approval \(single\) → deny$/m);
    const json = JSON.parse((await cli('shadow', '--report', '--json')).stdout) as { active: boolean; counts: { newlyDenied: number } };
    expect(json).toMatchObject({ active: true, counts: { newlyDenied: 1 } });

    const cleared = await cli('shadow', '--clear', '--as', 'user:dana');
    expect([cleared.code, cleared.stdout]).toEqual([0, expect.stringMatching(/^cleared the shadow policy set [0-9a-f]{12} \(set by user:dana/m)]);
    expect((await cli('shadow', '--clear', '--as', 'user:dana')).stdout).toContain('no shadow policy set is active');
    expect((await cli('shadow', '--report')).stdout).toMatch(/^shadow [0-9a-f]{12} ended, /m);
  }, 180_000);

  it('exits 2 on bad input', async () => {
    const cases: [string[], RegExp][] = [
      [['deploy', '--as', 'agent:refund-bot', '--message', 'x'], /is not a person/],
      [['deploy', '--as', 'user:nobody', '--message', 'x'], /is not declared/],
      [['deploy', '--as', 'user:dana', '--message', '  '], /a message is required/],
      [['deploy', '--message', 'x'], /--as/],
      [['shadow', draft, '--as', 'user:dana'], /a message is required/],
      [['shadow', draft, '--clear', '--as', 'user:dana'], /give one of DRAFT/],
      [['shadow', '--since', '7d'], /give one of DRAFT|--since goes with --report/],
      [['shadow', '--report', '--since', 'last week'], /neither a duration nor a date/],
      [['shadow', path.join(ws.dir, 'policies'), '--as', 'user:dana', '--message', 'same'], /the enforced policy set itself/],
      [['shadow', path.join(ws.dir, 'nowhere'), '--as', 'user:dana', '--message', 'x'], /does not exist/],
      [['versions', '--limit', '0'], /--limit/],
    ];
    writeFileSync(path.join(ws.dir, 'broken.cedar'), 'permit (principal, action, resource) when { principal.ghost == 1 };\n');
    cases.push([['shadow', path.join(ws.dir, 'broken.cedar'), '--as', 'user:dana', '--message', 'x'], /broken\.cedar:1:\d+/]);
    for (const [args, why] of cases) {
      const r = await cli(...args);
      expect([args.join(' '), r.code, r.stderr]).toEqual([args.join(' '), 2, expect.stringMatching(why)]);
    }
  }, 180_000);
});
