// `airlock audit` as a new user meets it: the demo's trail exported and verified offline with nothing
// but the public key and a witness; a cut export exits 1; proofs written and checked; bad input exits 2.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airlock, brokenWorkspace, requireBuild, type BrokenWorkspace } from './cli-helpers.js';

describe('airlock audit', () => {
  let ws: BrokenWorkspace;
  const file = (name: string): string => path.join(ws.dir, name);

  beforeAll(async () => {
    requireBuild();
    ws = brokenWorkspace();
    // A file witness beside the workspace: every checkpoint is appended there too.
    ws.edit('airlock.yaml', 'version: 1\n', 'version: 1\naudit:\n  checkpoints: { every: 10 }\n  witnesses:\n    - file: witness.jsonl\n');
    const demo = await airlock(['-w', ws.dir, 'demo'], { timeoutMs: 60_000 });
    expect(demo.code, demo.stderr).toBe(0);
  }, 90_000);
  afterAll(() => ws.cleanup());

  it('exports the trail with its checkpoints and verifies it offline with the public key and the witness', async () => {
    const key = await airlock(['-w', ws.dir, 'audit', 'key', '--out', file('log.pub')]);
    expect(key.code, key.stderr).toBe(0);
    expect(readFileSync(file('log.pub'), 'utf8')).toMatch(/^airlock\/acme\+[0-9a-f]{8}\+[A-Za-z0-9+/]{43}[A-Za-z0-9+/=]\n$/);
    const exp = await airlock(['-w', ws.dir, 'audit', 'export', '--out', file('trail.jsonl')]);
    expect(exp.code, exp.stderr).toBe(0);
    // Offline: no workspace, only the file, the key and the witness.
    const ok = await airlock(['audit', 'verify', '--export', file('trail.jsonl'), '--key', file('log.pub'), '--witness', file('witness.jsonl')], { cwd: path.dirname(ws.dir) });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/ok: \d+ audit records verified/);
    expect(ok.stdout).toMatch(/ok: \d+ signed checkpoints hold/);
    expect(ok.stdout).toMatch(/consistent with the witnessed checkpoint/);
    expect(ok.stdout).toMatch(/ok: the export ends where it was made: its signed end names records 1 to \d+/);
    const store = await airlock(['-w', ws.dir, 'audit', 'verify']);
    expect(store.code, store.stdout).toBe(0);
    expect(store.stdout).toMatch(/signed checkpoints hold/);
  });

  it('exits 1 for an export whose end was cut, and says so, whatever was cut', async () => {
    const lines = readFileSync(file('trail.jsonl'), 'utf8').trimEnd().split('\n');
    const trailer = lines.findIndex((l) => l.startsWith('{"checkpoint":'));
    // Records and the lines after them; only the signed end; records from before the trailer, the trailer kept.
    const cuts = [lines.slice(0, -4), lines.slice(0, -1), [...lines.slice(0, trailer - 2), ...lines.slice(trailer)]];
    for (const [i, cut] of cuts.entries()) {
      writeFileSync(file(`cut${i}.jsonl`), `${cut.join('\n')}\n`);
      const r = await airlock(['audit', 'verify', '--export', file(`cut${i}.jsonl`), '--key', file('log.pub')]);
      expect(r.code, `cut ${i}: ${r.stdout}`).toBe(1);
      expect(r.stdout, `cut ${i}`).toMatch(/FAILED end: (the export has no signed end|the export was cut)/);
    }
  });

  it("checks an export's keyed payloads with the audit key, says so when it cannot, and exits 1 for one changed", async () => {
    const exp = await airlock(['-w', ws.dir, 'audit', 'export', '--with-payloads', '--out', file('with-payloads.jsonl')]);
    expect(exp.code, exp.stderr).toBe(0);
    const lines = readFileSync(file('with-payloads.jsonl'), 'utf8').trimEnd().split('\n');
    const keyed = lines.findIndex((l) => l.startsWith('{"payload":') && l.includes('"keyed":true'));
    expect(keyed, 'the demo keeps confidential payloads').toBeGreaterThan(0);
    const auditKey = path.join(ws.dir, '.airlock', 'audit.key');
    const plain = await airlock(['audit', 'verify', '--export', file('with-payloads.jsonl'), '--key', file('log.pub')]);
    expect(plain.code, plain.stdout).toBe(0);
    expect(plain.stdout).toMatch(/\d+ keyed payloads \(confidential data\) not checked: pass --audit-key/);
    const checked = await airlock(['audit', 'verify', '--export', file('with-payloads.jsonl'), '--key', file('log.pub'), '--audit-key', auditKey]);
    expect(checked.code, checked.stdout).toBe(0);
    expect(checked.stdout).not.toMatch(/not checked/);
    // One keyed payload's data changed: without the key it cannot be seen (and it says so); with it, exit 1.
    const data = JSON.parse(lines[keyed] as string) as { payload: { hash: string; keyed: boolean; data: string } };
    const changed = [...lines];
    changed[keyed] = JSON.stringify({ payload: { ...data.payload, data: data.payload.data.replace(/[0-9]/, (d) => String((Number(d) + 1) % 10)) } });
    expect(changed[keyed]).not.toBe(lines[keyed]);
    writeFileSync(file('payload-changed.jsonl'), `${changed.join('\n')}\n`);
    const caught = await airlock(['audit', 'verify', '--export', file('payload-changed.jsonl'), '--key', file('log.pub'), '--audit-key', auditKey]);
    expect(caught.code, caught.stdout).toBe(1);
    expect(caught.stdout).toMatch(/does not match its HMAC/);
  });

  it('writes an inclusion proof that checks offline, and refuses one tampered with', async () => {
    const p = await airlock(['-w', ws.dir, 'audit', 'prove', '--record', '3', '--out', file('p3.json')]);
    expect(p.code, p.stderr).toBe(0);
    const ok = await airlock(['audit', 'verify', '--proof', file('p3.json'), '--key', file('log.pub')]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/record #3 is in the signed checkpoint/);
    const doc = JSON.parse(readFileSync(file('p3.json'), 'utf8')) as { seq: number };
    writeFileSync(file('p4.json'), JSON.stringify({ ...doc, seq: 4 }));
    const bad = await airlock(['audit', 'verify', '--proof', file('p4.json'), '--key', file('log.pub')]);
    expect(bad.code).toBe(1);
  });

  it('exits 2 for bad input: a key that is none, a missing export, a folder for a file, a record past the trail, no subject', async () => {
    const cases: [string[], RegExp][] = [
      [['audit', 'verify', '--export', file('trail.jsonl'), '--key', 'not-a-key'], /--key `not-a-key` is neither a verifier key nor a file/],
      [['audit', 'verify', '--export', file('none.jsonl'), '--key', file('log.pub')], /does not exist/],
      [['-w', ws.dir, 'audit', 'prove', '--record', '999999'], /is not in the checkpoint/],
      [['-w', ws.dir, 'audit', 'prove'], /give either --record SEQ or --from N/],
      [['audit', 'verify', '--proof', file('p3.json')], /--proof needs --key/],
      // Folders where files belong.
      [['audit', 'verify', '--export', ws.dir, '--key', file('log.pub')], /--export `.*` is not a file/],
      [['audit', 'verify', '--export', file('trail.jsonl'), '--key', ws.dir], /is neither a verifier key nor a file/],
      [['audit', 'key', '--new', 'a b'], /--new `a b`/],
    ];
    const results = await Promise.all(cases.map(([args]) => airlock(args)));
    cases.forEach(([args, message], i) => {
      expect(results[i]?.code, args.join(' ')).toBe(2);
      expect(results[i]?.stderr, args.join(' ')).toMatch(message);
    });
  });
});
