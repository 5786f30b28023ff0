// The README flow through the real CLI on a workspace copy: demo, refused self-approval, approval, timeline,
// audit verify, export; then a tampered audit row that `audit verify` must name.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../src/audit/signed-note.js';
import { verifyExportFile } from '../../src/audit/verify-export.js';
import { copyAcme, groundTruth } from '../helpers/workspace.js';
import { airlock, requireBuild } from './cli-helpers.js';

describe('the README demo flow through the CLI', () => {
  let ws: ReturnType<typeof copyAcme>;
  let approvalId: string;
  let runId: string;
  let records = 0;
  const cli = (...args: string[]) => airlock(['-w', ws.dir, ...args]);
  const storeFile = () => path.join(ws.dir, '.airlock', 'airlock.db');
  const ground = () => groundTruth(ws.acmeDb);

  beforeAll(() => {
    requireBuild();
    ws = copyAcme();
  });
  afterAll(() => ws.cleanup());

  it('`demo --reset` denies the injected mail, pauses the refund and prints the approval id and the approve command', async () => {
    const r = await cli('demo', '--reset');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const run = /^run (run_[0-9a-f]+): awaiting-approval$/m.exec(r.stdout);
    expect(run, r.stdout).not.toBeNull();
    runId = run![1]!;
    const approve = /^approve: +airlock -w \S+ approve (apr_[0-9a-f]+) --as dana\b/m.exec(r.stdout);
    expect(approve, r.stdout).not.toBeNull();
    approvalId = approve![1]!;
    expect(r.stdout).toMatch(new RegExp(`^${approvalId} +pending +one approver$`, 'm'));
    expect(r.stdout).toMatch(/decision deny +policies: mail-internal-only, no-egress-of-confidential-data/);
    expect(r.stdout).toMatch(/decision approval \(single\) +policies: refund-needs-approval/);
    expect(ground().sent_mail).toEqual([]);
    expect(ground().refunds.filter((x) => x['order_id'] === '1182')).toEqual([]);
  });

  it('`approve ID --as refund-bot` is refused with exit 2: the agent cannot approve its own action', async () => {
    const r = await cli('approve', approvalId, '--as', 'refund-bot');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refused: `agent:refund-bot` is not a person/);
    const show = await cli('show', approvalId);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`^${approvalId} +pending`, 'm'));
    expect(ground().refunds.filter((x) => x['order_id'] === '1182')).toEqual([]);
  });

  it('`approve ID --as dana` resumes the run, which executes the refund once and ends verified', async () => {
    const r = await cli('approve', approvalId, '--as', 'dana', '--reason', 'matches the ticket');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`approved ${approvalId} by user:dana (local)\nresuming run ${runId}`);
    expect(r.stdout).toMatch(new RegExp(`^run ${runId}: verified$`, 'm'));
    expect(r.stdout).toMatch(/verified against payments\.get_refund/);
    const refunds = ground().refunds.filter((x) => x['order_id'] === '1182');
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ amount_cents: 4000, status: 'completed' });
    expect(ground().sent_mail).toEqual([]);

    // The approval is spent: approving again is refused (exit 2), nothing runs twice.
    const again = await cli('approve', approvalId, '--as', 'priya');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already consumed/);
    expect(ground().refunds.filter((x) => x['order_id'] === '1182')).toHaveLength(1);
  });

  it('`runs show RUN` prints the timeline: the denied mail.send with its policy ids, the refused vote, approval, verification', async () => {
    const r = await cli('runs', 'show', runId);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const send = lines.findIndex((l) => /propose mail\.send/.test(l));
    expect(send).toBeGreaterThan(-1);
    expect(lines[send + 1]).toMatch(/decision deny +policies: mail-internal-only, no-egress-of-confidential-data/);
    // Each step follows the model turn that proposed it: the scripted playbook reports no tokens and has no price.
    expect(lines[send - 1]).toMatch(/ model {3}playbook \(airlock-scripted\/playbook\) {2}tokens not reported, unpriced {2}— the workflow names it$/);
    expect(lines.filter((l) => / model {3}playbook /.test(l)).length).toBeGreaterThanOrEqual(lines.filter((l) => / propose /.test(l)).length);
    expect(r.stdout).toMatch(/not executed \(denied\) mail\.send/);
    expect(r.stdout).not.toMatch(/executed mail\.send/);
    expect(r.stdout).toMatch(/approval vote refused for agent:refund-bot/);
    expect(r.stdout).toMatch(/approved by user:dana → approved \(matches the ticket\)/);
    expect(r.stdout).toMatch(/executed payments\.refund +undo: payments\.reverse_refund/);
    expect(r.stdout).toMatch(/verified against payments\.get_refund/);
    expect(r.stdout).toMatch(/run finished: verified/);
    expect(r.stdout).toMatch(new RegExp(`^run ${runId}: verified$`, 'm'));

    const unknown = await cli('runs', 'show', 'run_0000000000000000');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/run `run_0000000000000000` does not exist/);
  });

  it('`audit verify` exits 0, and `audit export --out` writes JSON Lines that verify offline', async () => {
    const v = await cli('audit', 'verify');
    expect(v.code).toBe(0);
    const m = /^ok: (\d+) audit records verified; head #(\d+) [0-9a-f]{64}$/m.exec(v.stdout);
    expect(m, v.stdout).not.toBeNull();
    records = Number(m![1]);
    expect(Number(m![2])).toBe(records);

    const file = path.join(ws.dir, 'audit.jsonl');
    const e = await cli('audit', 'export', '--out', file);
    expect(e.code).toBe(0);
    expect(e.stdout).toContain(`${records} records written to ${file}`);
    const text = readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const all = text.trimEnd().split('\n').map((l) => JSON.parse(l) as { record?: { seq: number; type: string }; checkpoint?: string; end?: string });
    // Every record in order, then the signed checkpoints (the last made by the export, covering them all), then its signed end.
    const lines = all.slice(0, records);
    expect(lines.map((l) => l.record?.seq)).toEqual(Array.from({ length: records }, (_, i) => i + 1));
    expect(lines.some((l) => l.record?.type === 'action.not-executed')).toBe(true);
    expect(typeof all.at(-1)?.end).toBe('string');
    const checkpoints = all.slice(records, -1);
    expect(checkpoints.length).toBeGreaterThan(0);
    expect(checkpoints.every((l) => typeof l.checkpoint === 'string')).toBe(true);
    expect(checkpoints.at(-1)?.checkpoint?.split('\n')[1]).toBe(String(records));
    const key = await cli('audit', 'key');
    const verifier = parseVerifierKey(key.stdout.trim());
    if ('problem' in verifier) throw new Error(verifier.problem);
    const offline = await verifyExportFile(file, { key: verifier });
    expect(offline.chain).toMatchObject({ ok: true, count: records });
    expect(offline.checkpoints).toMatchObject({ ok: true, uncovered: 0, latest: { size: records } });
    expect(offline.end).toMatchObject({ ok: true, end: { first: 1, last: records } });
  });

  it('a record changed behind the store\'s back (trigger dropped) makes `audit verify` exit 1 naming its seq', async () => {
    const db = new Database(storeFile());
    let seq: number;
    try {
      const row = db
        .prepare(`SELECT seq, leaf FROM audit WHERE leaf LIKE '%"type":"action.decision"%' AND leaf LIKE '%"tool":"mail.send"%'`)
        .get() as { seq: number; leaf: string };
      expect(row).toBeDefined();
      seq = row.seq;
      const leaf = JSON.parse(row.leaf) as { body: { decision: string } };
      expect(leaf.body.decision).toBe('deny');
      leaf.body.decision = 'allow';
      // The store refuses the edit while its trigger is there...
      expect(() => db.prepare('UPDATE audit SET leaf = ? WHERE seq = ?').run(JSON.stringify(leaf), seq)).toThrow(/append-only/);
      // ...so an attacker with the file drops it first.
      const triggers = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'`).all() as { name: string }[];
      expect(triggers.map((t) => t.name).sort()).toEqual(['audit_no_delete', 'audit_no_update']);
      db.exec('DROP TRIGGER audit_no_update');
      expect(db.prepare('UPDATE audit SET leaf = ? WHERE seq = ?').run(JSON.stringify(leaf), seq).changes).toBe(1);
    } finally {
      db.close();
    }

    const v = await cli('audit', 'verify');
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(new RegExp(`^FAILED at record #${seq}: `, 'm'));

    // An export of the tampered store does not verify offline either, at the same record.
    const file = path.join(ws.dir, 'tampered.jsonl');
    const e = await cli('audit', 'export', '--out', file);
    expect(e.code).toBe(0);
    expect((await verifyExportFile(file)).chain).toMatchObject({ ok: false, seq });
  });
});
