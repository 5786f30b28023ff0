// The pieces of the HTTP JSON API's wire contract that agents and people share: ids, names, hashes, approval levels, the error body.
import { z } from 'zod';
import { APPROVAL_LEVELS } from '../types.js';

/** Run and approval ids as Airlock hands them out (`run_...`, `apr_...`); generous, never a path or a space. */
const id = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'expected an id of letters, digits, `_` and `-`');
/** An approval id field. */
export const approvalId = id.describe('An approval id (`apr_...`).');
/** A standing grant's id field. */
export const grantId = id.describe('A grant id (`grt_...`).');
/** A run id field. */
export const runId = id.describe('A run id, as returned by `POST /runs` or `POST /actions`.');
/** A workflow name field. */
export const workflowName = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'expected a workflow name').max(128);
/** A tool name field. */
export const toolName = z.string().min(1).max(200).describe('A tool name from the workflow, e.g. `payments.refund`.');
/** A lowercase hex SHA-256 field. */
export const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256');
/** An approval level field. */
export const level = z
  .enum(APPROVAL_LEVELS)
  .describe('`single`: one eligible person; `reauth`: one eligible person who re-authenticated recently; `step-up`: two different eligible people.');

/** Every refusal: lowercase `error`, advice in `hint`, and where relevant the issues or the place in the body. */
export const ErrorResponse = z.object({
  error: z.string(),
  hint: z.string().optional(),
  runId: z.string().optional(),
  issues: z
    .array(z.object({ path: z.string().describe('Where in the body, e.g. `arguments.amount_cents` (empty: the body itself).'), code: z.string(), message: z.string() }))
    .optional()
    .describe('For 422: each problem with the request body.'),
  where: z
    .object({ position: z.number().int(), line: z.number().int(), column: z.number().int() })
    .optional()
    .describe('For 400: where in the body the JSON broke.'),
});
