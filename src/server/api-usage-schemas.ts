// The API's usage schemas: the query (days, dimension) and the report.
import { z } from 'zod';
import { USAGE_DIMENSIONS } from '../orchestration/usage.js';

export const UsageQuery = z.strictObject({
  days: z.coerce.number().int().min(1).max(366).default(7).describe('How many UTC days back, today included.'),
  by: z.enum(USAGE_DIMENSIONS).default('workflow'),
});

export const UsageReport = z.object({
  since: z.string().describe('The first UTC day counted (YYYY-MM-DD).'),
  by: z.enum(USAGE_DIMENSIONS),
  totals: z.array(
    z.object({
      scope: z.string().describe('The workflow, principal (`kind:id`) or route.'),
      modelCalls: z.number().int(),
      inputTokens: z.number().int(),
      outputTokens: z.number().int(),
      toolCalls: z.number().int().describe("Tool calls of every run, external agents' included."),
      cost: z.record(z.string(), z.number()).describe('Cost per currency, from the routes\' price tables; unpriced turns are counted, not costed.'),
    }),
  ),
});
