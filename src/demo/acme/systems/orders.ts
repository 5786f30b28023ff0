// The Acme order system: orders with their lines (amounts in integer cents).
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { AcmeDb } from '../db.js';
import { fail, ok, toCallResult, type Outcome } from '../tool.js';

/** One order line. */
export type OrderItem = {
  readonly sku: string;
  readonly name: string;
  readonly quantity: number;
  readonly unit_price_cents: number;
};

/** One order as the order system returns it. */
export type Order = {
  readonly id: string;
  readonly customer_id: string;
  readonly total_cents: number;
  readonly currency: string;
  readonly status: string;
  readonly items: readonly OrderItem[];
};

/** Reads one order with its lines. */
export function getOrder(db: AcmeDb, orderId: string): Outcome<Order> {
  const row = db
    .prepare('SELECT id, customer_id, total_cents, currency, status FROM orders WHERE id = ?')
    .get(orderId) as Omit<Order, 'items'> | undefined;
  if (!row) return fail(`order \`${orderId}\` not found`);
  const items = db
    .prepare('SELECT sku, name, quantity, unit_price_cents FROM order_items WHERE order_id = ? ORDER BY line')
    .all(orderId) as OrderItem[];
  return ok({ ...row, items });
}

/** Registers the order system's tools (`get_order`) on a server. */
export function registerOrders(server: McpServer, db: AcmeDb): void {
  server.registerTool(
    'get_order',
    {
      description: 'Get an order by id with its lines; amounts are integer cents.',
      inputSchema: { order_id: z.string().min(1).describe('order id, e.g. `1182`') },
      outputSchema: {
        id: z.string(),
        customer_id: z.string(),
        total_cents: z.number().int(),
        currency: z.string(),
        status: z.string(),
        items: z.array(
          z.object({ sku: z.string(), name: z.string(), quantity: z.number().int(), unit_price_cents: z.number().int() }),
        ),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ order_id }) => toCallResult(getOrder(db, order_id)),
  );
}
