// The Acme payment system: refunds against orders, with the rules a real payment system enforces.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { nextId, type AcmeDb } from '../db.js';
import { fail, nowIso, ok, toCallResult, writeOnce, type Outcome } from '../tool.js';

/** A refund as `get_refund` and `list_refunds` return it. */
export type Refund = {
  readonly refund_id: string;
  readonly order_id: string;
  readonly amount_cents: number;
  readonly currency: string;
  readonly status: 'completed' | 'reversed';
};

/** What `refund` returns. */
export type RefundReceipt = {
  readonly refund_id: string;
  readonly order_id: string;
  readonly amount_cents: number;
  readonly status: 'completed';
};

/** The arguments of `refund`, less the idempotency key. */
export type RefundRequest = {
  readonly order_id: string;
  readonly amount_cents: number;
  readonly currency: string;
  readonly reason: string;
};

const refundShape = {
  refund_id: z.string(),
  order_id: z.string(),
  amount_cents: z.number().int(),
  currency: z.string(),
  status: z.enum(['completed', 'reversed']),
};

const idempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .optional()
  .describe('optional: a repeat with the same key returns the original result without a second effect');

const REFUND_COLUMNS = 'id AS refund_id, order_id, amount_cents, currency, status';

/**
 * Issues a refund: the amount must be above zero and at most the order total minus what was
 * already refunded (completed refunds), in the order's currency; a cancelled order is not refundable.
 */
export function issueRefund(db: AcmeDb, req: RefundRequest): Outcome<RefundReceipt> {
  if (req.amount_cents <= 0) return fail(`\`amount_cents\` must be above 0, got ${req.amount_cents}`);
  const order = db.prepare('SELECT total_cents, currency, status FROM orders WHERE id = ?').get(req.order_id) as
    | { total_cents: number; currency: string; status: string }
    | undefined;
  if (!order) return fail(`order \`${req.order_id}\` not found`);
  if (order.status === 'cancelled') return fail(`order \`${req.order_id}\` is cancelled; there is nothing to refund`);
  if (req.currency !== order.currency) {
    return fail(`currency \`${req.currency}\` does not match order \`${req.order_id}\`, which was paid in ${order.currency}`);
  }
  const refunded = db
    .prepare("SELECT coalesce(sum(amount_cents), 0) AS n FROM refunds WHERE order_id = ? AND status = 'completed'")
    .get(req.order_id) as { n: number };
  const refundable = order.total_cents - refunded.n;
  if (req.amount_cents > refundable) {
    return fail(
      `refund of ${req.amount_cents} cents exceeds what is refundable on order \`${req.order_id}\`: ` +
        `${refundable} cents (total ${order.total_cents}, already refunded ${refunded.n})`,
    );
  }
  const id = nextId(db, 'refund');
  db.prepare(
    "INSERT INTO refunds (id, order_id, amount_cents, currency, reason, status, created_at) VALUES (?, ?, ?, ?, ?, 'completed', ?)",
  ).run(id, req.order_id, req.amount_cents, req.currency, req.reason, nowIso());
  return ok({ refund_id: id, order_id: req.order_id, amount_cents: req.amount_cents, status: 'completed' });
}

/** Reverses a completed refund (the compensation of `refund`); any other status is refused. */
export function reverseRefund(db: AcmeDb, refundId: string): Outcome<{ refund_id: string; status: 'reversed' }> {
  const row = db.prepare('SELECT status FROM refunds WHERE id = ?').get(refundId) as { status: string } | undefined;
  if (!row) return fail(`refund \`${refundId}\` not found`);
  if (row.status !== 'completed') {
    return fail(`refund \`${refundId}\` is \`${row.status}\`; only a completed refund can be reversed`);
  }
  db.prepare("UPDATE refunds SET status = 'reversed', reversed_at = ? WHERE id = ?").run(nowIso(), refundId);
  return ok({ refund_id: refundId, status: 'reversed' });
}

/** Reads one refund. */
export function getRefund(db: AcmeDb, refundId: string): Outcome<Refund> {
  const row = db.prepare(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE id = ?`).get(refundId) as Refund | undefined;
  return row ? ok({ ...row }) : fail(`refund \`${refundId}\` not found`);
}

/** Lists an order's refunds, oldest first. */
export function listRefunds(db: AcmeDb, orderId: string): Outcome<{ refunds: Refund[] }> {
  const order = db.prepare('SELECT 1 FROM orders WHERE id = ?').get(orderId);
  if (!order) return fail(`order \`${orderId}\` not found`);
  const refunds = db
    .prepare(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE order_id = ? ORDER BY created_at, id`)
    .all(orderId) as Refund[];
  return ok({ refunds });
}

/** Registers the payment system's tools (`refund`, `reverse_refund`, `get_refund`, `list_refunds`). */
export function registerPayments(server: McpServer, db: AcmeDb): void {
  server.registerTool(
    'refund',
    {
      description:
        'Refund part or all of an order. amount_cents must be > 0 and at most the order total minus earlier ' +
        'refunds; currency must be the order currency.',
      inputSchema: {
        order_id: z.string().min(1).describe('order id, e.g. `1182`'),
        amount_cents: z.number().int().describe('amount in integer cents, e.g. 4000 for 40.00'),
        currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code like `EUR`'),
        reason: z.string().min(1).max(500),
        idempotency_key: idempotencyKey,
      },
      outputSchema: {
        refund_id: z.string(),
        order_id: z.string(),
        amount_cents: z.number().int(),
        status: z.literal('completed'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ idempotency_key, ...req }) =>
      toCallResult(writeOnce(db, 'payments.refund', idempotency_key, req, () => issueRefund(db, req))),
  );

  server.registerTool(
    'reverse_refund',
    {
      description: 'Reverse a completed refund (marks it `reversed`); the compensation of `refund`.',
      inputSchema: { refund_id: z.string().min(1), idempotency_key: idempotencyKey },
      outputSchema: { refund_id: z.string(), status: z.literal('reversed') },
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    ({ refund_id, idempotency_key }) =>
      toCallResult(
        writeOnce(db, 'payments.reverse_refund', idempotency_key, { refund_id }, () => reverseRefund(db, refund_id)),
      ),
  );

  server.registerTool(
    'get_refund',
    {
      description: 'Get one refund by id.',
      inputSchema: { refund_id: z.string().min(1) },
      outputSchema: refundShape,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ refund_id }) => toCallResult(getRefund(db, refund_id)),
  );

  server.registerTool(
    'list_refunds',
    {
      description: "List an order's refunds, oldest first.",
      inputSchema: { order_id: z.string().min(1) },
      outputSchema: { refunds: z.array(z.object(refundShape)) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ order_id }) => toCallResult(listRefunds(db, order_id)),
  );
}
