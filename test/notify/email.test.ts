// Email as an approval channel, against a local SMTP server: the demo's refund pauses, and each
// person who may decide it (and only they) is mailed the summary and a personal link that names
// them, the approval and the summary they were shown, expires, and cannot be altered.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { linksKey, readApprovalLink } from '../../src/gateway/approvals/links.js';
import { summaryHash } from '../../src/gateway/approvals/rules.js';
import type { ApprovalId } from '../../src/types.js';
import { acmeAwaitingApproval, copyAcme } from '../helpers/workspace.js';
import { bodyOf, startSmtpCapture, type Mail } from '../helpers/smtp-capture.js';

describe('approvals by email', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpCapture>>;
  let mails: Mail[];
  let ws: ReturnType<typeof copyAcme>;
  let a: Airlock;
  let approvalId: ApprovalId;

  beforeAll(async () => {
    smtp = await startSmtpCapture();
    mails = smtp.mails;
    ({ ws, a, approvalId } = await acmeAwaitingApproval('email', {
      smtp: { host: '127.0.0.1', port: smtp.port, requireTls: false },
      from: 'Airlock <airlock@acme.example>',
      people: { 'user:dana': 'dana@acme.example', 'user:priya': 'priya@acme.example', 'user:sam': 'sam@acme.example' },
      linkMinutes: 30,
    }));
    expect(await a.notifier.deliverDue()).toMatchObject({ delivered: 1, failed: 0, retrying: 0 });
  });
  afterAll(async () => {
    await a.close();
    ws.cleanup();
    await smtp.close();
  });

  it('mails each person who may decide it, and nobody else', () => {
    // Sam is a support lead, not a finance approver: policy would refuse his vote, so he is not asked.
    expect(mails.map((m) => m.to).sort()).toEqual([['dana@acme.example'], ['priya@acme.example']]);
    for (const m of mails) {
      expect(m.raw).toMatch(/^Subject: Approval needed: payments\.refund \(refund-desk\)\r?$/m);
      expect(m.raw).toMatch(/^From: Airlock <airlock@acme\.example>\r?$/m);
    }
  });

  it('shows the summary, withholds confidential arguments, and carries a personal link to the approval as shown', async () => {
    const now = new Date();
    const approval = (await a.store.getApproval(approvalId))!;
    for (const m of mails) {
      const text = bodyOf(m.raw);
      expect(text).toContain('Requested by: agent:refund-bot');
      expect(text).toContain('withheld: the run has read confidential content');
      expect(text).not.toContain('amount_cents');
      const url = text.match(/https:\/\/airlock\.acme\.example\/console\/link\?t=(\S+)/);
      const read = await readApprovalLink(linksKey(path.join(ws.dir, '.airlock')), decodeURIComponent(url![1]!), now);
      expect(read).toMatchObject({ ok: true, link: { person: m.to[0] === 'dana@acme.example' ? 'user:dana' : 'user:priya', approvalId, summaryHash: summaryHash(approval) } });
    }
  });

  it('a link that was altered, or has expired, says nothing', async () => {
    const text = bodyOf(mails[0]!.raw);
    const token = decodeURIComponent(text.match(/\?t=(\S+)/)![1]!);
    const key = linksKey(path.join(ws.dir, '.airlock'));
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(p!, 'base64url').toString().replace('user:', 'user:x');
    expect(await readApprovalLink(key, `${h}.${Buffer.from(forged).toString('base64url')}.${s}`, new Date())).toMatchObject({ ok: false, problem: /not valid/ });
    expect(await readApprovalLink(key, token, new Date(Date.now() + 31 * 60_000))).toMatchObject({ ok: false, problem: /expired/ });
  });

  it('an SMTP server that cannot be reached is a failed attempt, retried and logged', async () => {
    const ws2 = copyAcme();
    try {
      const file = path.join(ws2.dir, 'airlock.yaml');
      const doc = parseDocument(readFileSync(file, 'utf8'));
      doc.setIn(['notifications', 'email'], doc.createNode({ smtp: { host: '127.0.0.1', port: 1, requireTls: false }, from: 'a@acme.example', people: { 'user:dana': 'dana@acme.example' }, timeoutMs: 2000 }));
      doc.setIn(['server', 'publicUrl'], 'https://airlock.acme.example');
      writeFileSync(file, doc.toString());
      const b = await openAirlock(ws2.dir);
      try {
        await b.runner.start('refund-desk', { ticket_id: 'T-311' });
        expect(await b.notifier.deliverDue()).toMatchObject({ delivered: 0, retrying: 1 });
        const [n] = await b.store.listNotifications({ limit: 5 });
        expect(n).toMatchObject({ webhook: '@email', status: 'pending', lastError: expect.stringMatching(/^SMTP: /) });
      } finally {
        await b.close();
      }
    } finally {
      ws2.cleanup();
    }
  });
});
