// The Acme CRM system: customer records (name, email, phone and address are PII).
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { AcmeDb } from '../db.js';
import { fail, ok, toCallResult, type Outcome } from '../tool.js';

/** One customer as the CRM returns it. */
export type Customer = {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly phone: string;
  readonly address: string;
  readonly tier: string;
};

const customerShape = {
  id: z.string(),
  name: z.string(),
  email: z.string(),
  phone: z.string(),
  address: z.string(),
  tier: z.string(),
};

/** Reads one customer record. */
export function getCustomer(db: AcmeDb, customerId: string): Outcome<Customer> {
  const row = db
    .prepare('SELECT id, name, email, phone, address, tier FROM customers WHERE id = ?')
    .get(customerId) as Customer | undefined;
  return row ? ok({ ...row }) : fail(`customer \`${customerId}\` not found`);
}

/** Registers the CRM's tools (`get_customer`) on a server. */
export function registerCrm(server: McpServer, db: AcmeDb): void {
  server.registerTool(
    'get_customer',
    {
      description: 'Get a customer record by id (includes PII: email, phone, postal address).',
      inputSchema: { customer_id: z.string().min(1).describe('customer id, e.g. `C-1042`') },
      outputSchema: customerShape,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ customer_id }) => toCallResult(getCustomer(db, customer_id)),
  );
}
