// The Acme ticket system: support tickets (subject and body are customer-written) and agent comments.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { nextId, type AcmeDb } from '../db.js';
import { fail, nowIso, ok, toCallResult, write, writeOnce, type Outcome } from '../tool.js';

/** The statuses a ticket can have. */
export const TICKET_STATUSES = ['open', 'pending', 'resolved'] as const;

/** One ticket status. */
export type TicketStatus = (typeof TICKET_STATUSES)[number];

/** A comment on a ticket. */
export type TicketComment = { readonly comment_id: string; readonly body: string; readonly created_at: string };

/** A ticket as `get_ticket` returns it, comments oldest first. */
export type Ticket = {
  readonly id: string;
  readonly customer_id: string;
  readonly order_id: string | null;
  readonly subject: string;
  readonly body: string;
  readonly status: TicketStatus;
  readonly comments: readonly TicketComment[];
};

/** Reads one ticket with its comments. */
export function getTicket(db: AcmeDb, ticketId: string): Outcome<Ticket> {
  const row = db
    .prepare('SELECT id, customer_id, order_id, subject, body, status FROM tickets WHERE id = ?')
    .get(ticketId) as Omit<Ticket, 'comments'> | undefined;
  if (!row) return fail(`ticket \`${ticketId}\` not found`);
  const comments = db
    .prepare('SELECT id AS comment_id, body, created_at FROM ticket_comments WHERE ticket_id = ? ORDER BY created_at, id')
    .all(ticketId) as TicketComment[];
  return ok({ ...row, comments });
}

/** Adds a comment to a ticket. */
export function addComment(db: AcmeDb, ticketId: string, body: string): Outcome<{ comment_id: string }> {
  if (body.trim() === '') return fail('a comment needs a non-empty `body`');
  if (!db.prepare('SELECT 1 FROM tickets WHERE id = ?').get(ticketId)) return fail(`ticket \`${ticketId}\` not found`);
  const id = nextId(db, 'comment');
  db.prepare('INSERT INTO ticket_comments (id, ticket_id, body, created_at) VALUES (?, ?, ?, ?)').run(
    id,
    ticketId,
    body,
    nowIso(),
  );
  return ok({ comment_id: id });
}

/**
 * Deletes a comment (the compensation of `comment`); the row is removed, its id is never reused.
 * With `ticketId`, the comment must belong to that ticket.
 */
export function deleteComment(
  db: AcmeDb,
  commentId: string,
  ticketId?: string,
): Outcome<{ comment_id: string; status: 'deleted' }> {
  const row = db.prepare('SELECT ticket_id FROM ticket_comments WHERE id = ?').get(commentId) as
    | { ticket_id: string }
    | undefined;
  if (!row) return fail(`comment \`${commentId}\` not found`);
  if (ticketId !== undefined && row.ticket_id !== ticketId) {
    return fail(`comment \`${commentId}\` belongs to ticket \`${row.ticket_id}\`, not \`${ticketId}\``);
  }
  db.prepare('DELETE FROM ticket_comments WHERE id = ?').run(commentId);
  return ok({ comment_id: commentId, status: 'deleted' });
}

/** Sets a ticket's status and reports the previous one (setting it back is the compensation). */
export function setStatus(
  db: AcmeDb,
  ticketId: string,
  status: TicketStatus,
): Outcome<{ id: string; status: TicketStatus; previous_status: TicketStatus }> {
  const row = db.prepare('SELECT status FROM tickets WHERE id = ?').get(ticketId) as
    | { status: TicketStatus }
    | undefined;
  if (!row) return fail(`ticket \`${ticketId}\` not found`);
  db.prepare('UPDATE tickets SET status = ? WHERE id = ?').run(status, ticketId);
  return ok({ id: ticketId, status, previous_status: row.status });
}

/** Registers the ticket system's tools (`get_ticket`, `comment`, `delete_comment`, `set_status`). */
export function registerTickets(server: McpServer, db: AcmeDb): void {
  const status = z.enum(TICKET_STATUSES);

  server.registerTool(
    'get_ticket',
    {
      description: 'Get a support ticket with its comments. subject and body are written by the customer.',
      inputSchema: { ticket_id: z.string().min(1).describe('ticket id, e.g. `T-311`') },
      outputSchema: {
        id: z.string(),
        customer_id: z.string(),
        order_id: z.string().nullable(),
        subject: z.string(),
        body: z.string(),
        status,
        comments: z.array(z.object({ comment_id: z.string(), body: z.string(), created_at: z.string() })),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ ticket_id }) => toCallResult(getTicket(db, ticket_id)),
  );

  server.registerTool(
    'comment',
    {
      description: 'Add an internal comment to a ticket.',
      inputSchema: {
        ticket_id: z.string().min(1),
        body: z.string().max(20_000),
        idempotency_key: z
          .string()
          .min(1)
          .max(200)
          .optional()
          .describe('optional: a repeat with the same key returns the original result without a second effect'),
      },
      outputSchema: { comment_id: z.string() },
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    ({ ticket_id, body, idempotency_key }) =>
      toCallResult(
        writeOnce(db, 'tickets.comment', idempotency_key, { ticket_id, body }, () => addComment(db, ticket_id, body)),
      ),
  );

  server.registerTool(
    'delete_comment',
    {
      description: 'Delete a comment (the compensation of `comment`).',
      inputSchema: {
        comment_id: z.string().min(1),
        ticket_id: z.string().min(1).optional().describe('optional: refuse unless the comment is on this ticket'),
      },
      outputSchema: { comment_id: z.string(), status: z.literal('deleted') },
      annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: false },
    },
    ({ comment_id, ticket_id }) => toCallResult(write(db, () => deleteComment(db, comment_id, ticket_id))),
  );

  server.registerTool(
    'set_status',
    {
      description: "Set a ticket's status (open, pending, resolved); returns the previous status.",
      inputSchema: { ticket_id: z.string().min(1), status },
      outputSchema: { id: z.string(), status, previous_status: status },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ ticket_id, status: next }) =>
      toCallResult(write(db, () => setStatus(db, ticket_id, next))),
  );
}
