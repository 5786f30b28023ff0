// The Acme mail system: drafts (discardable) and sent mail (egress: once sent, it cannot be recalled).
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { nextId, type AcmeDb } from '../db.js';
import { fail, nowIso, ok, toCallResult, write, writeOnce, type Outcome } from '../tool.js';

/** A message to draft or send. */
export type MailRequest = { readonly to: string; readonly subject: string; readonly body: string };

/** A draft as `get_draft` returns it. */
export type Draft = MailRequest & { readonly draft_id: string; readonly status: 'draft' | 'discarded' };

/** A sent message as `get_message` returns it. */
export type SentMessage = MailRequest & { readonly message_id: string; readonly sent_at: string };

const EMAIL = /^[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+$/;

const mailArgs = {
  to: z.string().min(1).max(320).describe('one recipient address'),
  subject: z.string().max(500),
  body: z.string().max(100_000),
  idempotency_key: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('optional: a repeat with the same key returns the original result without a second effect'),
};

function checkAddress(to: string): Outcome<true> {
  return EMAIL.test(to) ? ok(true) : fail(`\`${to}\` is not an email address`);
}

/** Saves a draft (nothing leaves Acme). */
export function draftMail(db: AcmeDb, req: MailRequest): Outcome<{ draft_id: string }> {
  const valid = checkAddress(req.to);
  if (!valid.ok) return valid;
  const id = nextId(db, 'draft');
  db.prepare("INSERT INTO drafts (id, to_address, subject, body, status, created_at) VALUES (?, ?, ?, ?, 'draft', ?)").run(
    id,
    req.to,
    req.subject,
    req.body,
    nowIso(),
  );
  return ok({ draft_id: id });
}

/** Marks a draft discarded (the compensation of `draft`); discarding it again changes nothing. */
export function discardDraft(db: AcmeDb, draftId: string): Outcome<{ draft_id: string; status: 'discarded' }> {
  const row = db.prepare('SELECT status FROM drafts WHERE id = ?').get(draftId) as { status: string } | undefined;
  if (!row) return fail(`draft \`${draftId}\` not found`);
  if (row.status === 'draft') {
    db.prepare("UPDATE drafts SET status = 'discarded', discarded_at = ? WHERE id = ?").run(nowIso(), draftId);
  }
  return ok({ draft_id: draftId, status: 'discarded' });
}

/** Sends a message: it is recorded in `sent_mail` and has left Acme. */
export function sendMail(db: AcmeDb, req: MailRequest): Outcome<{ message_id: string }> {
  const valid = checkAddress(req.to);
  if (!valid.ok) return valid;
  const id = nextId(db, 'message');
  db.prepare('INSERT INTO sent_mail (id, to_address, subject, body, sent_at) VALUES (?, ?, ?, ?, ?)').run(
    id,
    req.to,
    req.subject,
    req.body,
    nowIso(),
  );
  return ok({ message_id: id });
}

/** Reads one draft. */
export function getDraft(db: AcmeDb, draftId: string): Outcome<Draft> {
  const row = db
    .prepare('SELECT id AS draft_id, to_address AS "to", subject, body, status FROM drafts WHERE id = ?')
    .get(draftId) as Draft | undefined;
  return row ? ok({ ...row }) : fail(`draft \`${draftId}\` not found`);
}

/** Reads one sent message. */
export function getMessage(db: AcmeDb, messageId: string): Outcome<SentMessage> {
  const row = db
    .prepare('SELECT id AS message_id, to_address AS "to", subject, body, sent_at FROM sent_mail WHERE id = ?')
    .get(messageId) as SentMessage | undefined;
  return row ? ok({ ...row }) : fail(`message \`${messageId}\` not found`);
}

/** Registers the mail system's tools (`draft`, `discard_draft`, `send`, `get_draft`, `get_message`). */
export function registerMail(server: McpServer, db: AcmeDb): void {
  server.registerTool(
    'draft',
    {
      description: 'Save an email draft; nothing is sent.',
      inputSchema: mailArgs,
      outputSchema: { draft_id: z.string() },
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    ({ idempotency_key, ...req }) =>
      toCallResult(writeOnce(db, 'mail.draft', idempotency_key, req, () => draftMail(db, req))),
  );

  server.registerTool(
    'discard_draft',
    {
      description: 'Discard a draft (the compensation of `draft`); discarding twice is harmless.',
      inputSchema: { draft_id: z.string().min(1) },
      outputSchema: { draft_id: z.string(), status: z.literal('discarded') },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ draft_id }) => toCallResult(write(db, () => discardDraft(db, draft_id))),
  );

  server.registerTool(
    'send',
    {
      description: 'Send an email to one recipient. It leaves Acme and cannot be recalled.',
      inputSchema: mailArgs,
      outputSchema: { message_id: z.string() },
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    },
    ({ idempotency_key, ...req }) =>
      toCallResult(writeOnce(db, 'mail.send', idempotency_key, req, () => sendMail(db, req))),
  );

  server.registerTool(
    'get_draft',
    {
      description: 'Get one draft by id (a verification probe for `draft` and `discard_draft`).',
      inputSchema: { draft_id: z.string().min(1) },
      outputSchema: {
        draft_id: z.string(),
        to: z.string(),
        subject: z.string(),
        body: z.string(),
        status: z.enum(['draft', 'discarded']),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ draft_id }) => toCallResult(getDraft(db, draft_id)),
  );

  server.registerTool(
    'get_message',
    {
      description: 'Get one sent message by id (a verification probe for `send`).',
      inputSchema: { message_id: z.string().min(1) },
      outputSchema: {
        message_id: z.string(),
        to: z.string(),
        subject: z.string(),
        body: z.string(),
        sent_at: z.string(),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ message_id }) => toCallResult(getMessage(db, message_id)),
  );
}
