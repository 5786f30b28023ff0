// Adversarial tests (from a security review): email approval links (src/gateway/approvals/links.ts, email.ts).
// Claims: a link names one person, one approval and one summary hash, expires, cannot be altered;
// only eligible people are mailed; no arguments above clearance in mail. Redemption in the console is checked
// where it is built. Each FINDING below failed before its fix and is kept as a regression test.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, UnsecuredJWT } from 'jose';
import type { Airlock } from '../../src/airlock.js';
import { loadWorkspace } from '../../src/config/load.js';
import { linksKey, mintApprovalLink, readApprovalLink } from '../../src/gateway/approvals/links.js';
import { approvalEmail, emailChannel } from '../../src/gateway/approvals/email.js';
import type { ApprovalRecord, NotificationRecord, Store } from '../../src/store/store.js';
import type { ApprovalId, Json } from '../../src/types.js';
import { acmeAwaitingApproval, copyAcme } from '../helpers/workspace.js';
import { bodyOf, startSmtpCapture, type Mail } from '../helpers/smtp-capture.js';

const tokenOf = (raw: string) => decodeURIComponent(bodyOf(raw).match(/\?t=(\S+)/)![1]!);

describe('email approval links', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpCapture>>;
  let mails: Mail[];
  let ws: ReturnType<typeof copyAcme>;
  let a: Airlock;
  let approvalId: ApprovalId;
  let key: Uint8Array;

  beforeAll(async () => {
    smtp = await startSmtpCapture();
    mails = smtp.mails;
    ({ ws, a, approvalId } = await acmeAwaitingApproval('email', {
      smtp: { host: '127.0.0.1', port: smtp.port, requireTls: false },
      from: 'Airlock <airlock@acme.example>',
      people: { 'user:dana': 'finance@acme.example', 'user:priya': 'priya@acme.example', 'user:sam': 'sam@acme.example' },
      linkMinutes: 30,
    }));
    await a.notifier.deliverDue();
    key = linksKey(path.join(ws.dir, '.airlock'));
  });
  afterAll(async () => {
    await a.close();
    ws.cleanup();
    await smtp.close();
  });

  // ---- findings -------------------------------------------------------------------------------

  // FINDING: nothing stops two people from sharing one address. The mailbox then holds a personal link
  // for each of them: whoever reads it can open the approval as dana *and* as priya (four eyes become
  // one pair of eyes, and a single-person approval can be decided by anyone with access to the box).
  it('one mailbox never holds links for two different people: the workspace refuses the shared address', async () => {
    const file = path.join(ws.dir, 'airlock.yaml');
    const text = readFileSync(file, 'utf8');
    try {
      // Two finance approvers who read one shared mailbox (a common set-up).
      writeFileSync(file, text.replace('priya@acme.example', 'Finance@acme.example'));
      await expect(loadWorkspace(ws.dir)).rejects.toThrow(/`user:priya` and `user:dana` share the mailbox `Finance@acme\.example`/);
    } finally {
      writeFileSync(file, text);
    }
  });

  // FINDING: the agent's reasoning is mailed whatever the channel's clearance (the arguments are withheld).
  it("the agent's reasoning, written after reading confidential content, is withheld like the arguments", async () => {
    const approval = (await a.store.getApproval(approvalId))!;
    const s = approval.summary as { [k: string]: Json };
    const leaky: ApprovalRecord = { ...approval, summary: { ...s, evidence: { ...((s['evidence'] as object) ?? {}), reasoning: 'Card on file 4111 1111 1111 1111 matches; refunding.' } } };
    const mail = approvalEmail(leaky, { clearance: 'internal', publicUrl: 'https://airlock.acme.example' }, { token: 't', expiresAt: 'x' });
    expect(mail.text).toContain('withheld: the run has read confidential content');
    expect(mail.text).not.toContain('4111 1111 1111 1111');
  });

  // FINDING (low): "never past the approval itself" does not hold: the lifetime is at least one minute
  // (`Math.max(1, …)`), and whole minutes, so an approval ending in 20 s gets a link that works for 60 s.
  it('a link never outlives its approval', async () => {
    const approval = (await a.store.getApproval(approvalId))!;
    const now = new Date();
    const soon: ApprovalRecord = { ...approval, expiresAt: new Date(now.getTime() + 20_000).toISOString() };
    const store = { getApproval: async () => soon } as unknown as Store;
    const cfg = a.workspace.file.notifications.email!;
    const channel = emailChannel({ ...cfg, people: { 'user:sam': 'sam@acme.example', 'user:dana': 'dana-only@acme.example' } }, { store, workspace: a.workspace, policies: a.policies, principal: (r) => a.principal(r), now: () => now, publicUrl: 'https://airlock.acme.example', linksKey: key });
    const before = mails.length;
    const out = await channel.send({ id: 'n', webhook: '@email', event: 'approval.requested', body: JSON.stringify({ data: { approvalId } }), createdAt: now.toISOString(), status: 'pending', attempts: 0, nextAttemptAt: now.toISOString(), lastError: null } as NotificationRecord, now);
    expect(out.ok).toBe(true);
    const sent = mails.slice(before).find((m) => m.to.includes('dana-only@acme.example'));
    expect(sent).toBeDefined();
    const read = await readApprovalLink(key, tokenOf(sent!.raw), now);
    expect(read.ok).toBe(true);
    if (read.ok) expect(read.link.exp * 1000).toBeLessThanOrEqual(Date.parse(soon.expiresAt));
  });

  // ---- withstood ------------------------------------------------------------------------------

  it('withstands: only eligible people are mailed (sam, a support lead, is not)', () => {
    expect(mails.some((m) => m.to.includes('sam@acme.example'))).toBe(false);
  });

  it('withstands: forged links (alg none, another key, altered claims, other audience or issuer, oversized, expired by a second)', async () => {
    const good = tokenOf(mails[0]!.raw);
    const read = await readApprovalLink(key, good, new Date());
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    const { link } = read;
    const claims = { aid: link.approvalId, sh: link.summaryHash };
    const t = Math.floor(Date.now() / 1000);
    const other = new Uint8Array(32).fill(7);
    const signed = (k: Uint8Array, f: (j: SignJWT) => SignJWT) => f(new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(t).setExpirationTime(t + 600).setJti('j')).sign(k);
    const forged = [
      new UnsecuredJWT(claims).setIssuer('airlock').setAudience('airlock-approval-link').setSubject(link.person).setJti('j').setExpirationTime(t + 600).encode(),
      await signed(other, (j) => j.setIssuer('airlock').setAudience('airlock-approval-link').setSubject(link.person)),
      await signed(key, (j) => j.setIssuer('airlock').setAudience('airlock-console').setSubject(link.person)),
      await signed(key, (j) => j.setIssuer('airlock-console').setAudience('airlock-approval-link').setSubject(link.person)),
      await signed(key, (j) => j.setIssuer('airlock').setAudience('airlock-approval-link').setSubject('user:Dana')),
      await signed(key, (j) => j.setIssuer('airlock').setAudience('airlock-approval-link').setSubject('user:dana\n')),
      `${good.split('.')[0]}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(good.split('.')[1]!, 'base64url').toString()), aid: 'APR-other' })).toString('base64url')}.${good.split('.')[2]}`,
      `${good}${'A'.repeat(2100)}`,
    ];
    for (const f of forged) expect((await readApprovalLink(key, f, new Date())).ok).toBe(false);
    expect((await readApprovalLink(key, good, new Date(link.exp * 1000 + 1000))).ok).toBe(false);
    // Two links minted for the same person and approval differ (their own jti): each can be redeemed once.
    const m1 = await mintApprovalLink(key, { person: 'user:dana', approvalId, summaryHash: link.summaryHash }, new Date(), 5);
    const m2 = await mintApprovalLink(key, { person: 'user:dana', approvalId, summaryHash: link.summaryHash }, new Date(), 5);
    expect(m1.link.jti).not.toBe(m2.link.jti);
  });

  it('withstands: no header injection through what a subject is made of (tool and workflow names are restricted)', () => {
    for (const m of mails) {
      const head = m.raw.split(/\r?\n\r?\n/)[0]!;
      expect(head.split(/\r?\n/).filter((l) => /^(bcc|cc|to):/i.test(l))).toHaveLength(1);
    }
  });
});
