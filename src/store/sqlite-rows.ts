// Reading the SQLite store's rows back: stored JSON is a trust boundary, so every row is checked against its schema.
import { z } from 'zod';
import { AirlockError } from '../errors.js';
import { APPROVAL_LEVELS, APPROVAL_STATUSES, OWNER_BOUNDARIES, type Json, type RunStatus, type Sha256Hex } from '../types.js';
import type { ApprovalRecord, AuditRecord, RunRecord } from './store.js';
import { INCIDENT_KINDS, INCIDENT_STATUSES } from './store.js';

// Stored JSON is a trust boundary: rows are validated when read back.
const RUN_STATUSES = [
  'queued',
  'running',
  'awaiting-approval',
  'completed',
  'verified',
  'unverified',
  'failed',
  'cancelled',
] as const satisfies readonly RunStatus[];
const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/);
const runRowSchema = z.object({
  id: z.string().min(1),
  workflow: z.string(),
  status: z.enum(RUN_STATUSES),
  version: z.number().int().nonnegative(),
  createdAt: z.string(),
  updatedAt: z.string(),
  // The state came out of JSON.parse, so it is JSON; its shape is orchestration's to check, and a
  // deep z.json() walk here cost ~0.3 ms per load on the hot path (bench/doors.ts).
  state: z.unknown(),
});
// Fields added after schema version 3 default, so approvals written by an older Airlock still read.
const nullableText = z.string().nullable().default(null);
const voteSchema = z.object({
  approver: z.string(),
  decision: z.enum(['approve', 'reject']),
  reason: z.string().nullable(),
  time: z.string(),
  issuer: nullableText,
  subject: nullableText,
  authMethod: nullableText,
  authTime: nullableText,
  summaryHash: nullableText,
});
const approvalSchema = z.object({
  id: z.string().min(1),
  runId: z.string().min(1),
  actionHash: sha256Schema,
  tool: z.string(),
  requester: z.string(),
  level: z.enum(APPROVAL_LEVELS),
  status: z.enum(APPROVAL_STATUSES),
  createdAt: z.string(),
  expiresAt: z.string(),
  summary: z.json(),
  decisions: z.array(voteSchema),
  workflow: z.string().default(''),
  assignee: nullableText,
  escalations: z.number().int().nonnegative().default(0),
  escalateAt: nullableText,
  editedFrom: nullableText,
  editedBy: nullableText,
  supersededBy: nullableText,
  consumedAt: nullableText,
  traceparent: z.string().optional(),
});
/** A stored standing grant. */
export const grantSchema = z.object({
  id: z.string().min(1),
  workflow: z.string(),
  tool: z.string(),
  bounds: z.record(
    z.string(),
    z.object({ max: z.number().optional(), equals: z.union([z.string(), z.number(), z.boolean()]).optional() }),
  ),
  grantor: z.string(),
  grantorAuth: z.json(),
  reason: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  maxUses: z.number().int().positive().nullable(),
  uses: z.number().int().nonnegative(),
  status: z.enum(['active', 'revoked']),
  policyIds: z.array(z.string()),
});
/** A stored webhook notification. */
export const notificationSchema = z.object({
  id: z.string().min(1),
  webhook: z.string(),
  event: z.string(),
  body: z.string(),
  createdAt: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int().nonnegative(),
  nextAttemptAt: z.string(),
  lastError: z.string().nullable(),
});
/** A row of the delivery log. */
export const deliverySchema = z.object({
  notificationId: z.string(),
  webhook: z.string(),
  attempt: z.number().int().positive(),
  time: z.string(),
  ok: z.boolean(),
  httpStatus: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().nonnegative(),
});

/** A stored instance lease. */
export const leaseSchema = z.object({
  id: z.string().min(1),
  host: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  expiresAt: z.string(),
});
/** A stored incident. */
export const incidentSchema = z.object({
  id: z.string().min(1),
  runId: z.string().min(1),
  kind: z.enum(INCIDENT_KINDS),
  key: z.string(),
  title: z.string(),
  evidence: z.json(),
  boundary: z.enum(OWNER_BOUNDARIES),
  owner: z.string().nullable(),
  status: z.enum(INCIDENT_STATUSES),
  createdAt: z.string(),
  resolvedAt: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  resolution: z.string().nullable(),
  assignee: z.string().optional(),
  assignedAt: z.string().optional(),
});

/** A row of the `audit` table as SQLite returns it. */
export interface AuditRow {
  seq: number;
  leaf: string;
  prev_hash: string;
  leaf_hash: string;
  chain_hash: string;
}
/** A row of the `runs` table. */
export interface RunRow {
  id: string;
  workflow: string;
  status: string;
  version: number;
  created_at: string;
  updated_at: string;
  state: string;
}
/** A row of the `approvals` table (the status in its own column). */
export interface ApprovalRow {
  id: string;
  status: string;
  record: string;
}

/** Reads rows of one store file back into records, naming the file and row when one is invalid. */
export class RowReader {
  constructor(private readonly file: string) {}

  /** A `runs` row as a run record. */
  run(row: RunRow): RunRecord {
    const parsed = runRowSchema.safeParse({
      id: row.id,
      workflow: row.workflow,
      status: row.status,
      version: row.version,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      state: parseJson(row.state),
    });
    if (!parsed.success) throw this.corrupt('runs', row.id, parsed.error.issues[0]?.message);
    return parsed.data as unknown as RunRecord;
  }

  /** An `approvals` row as an approval record (its status column wins over the JSON's). */
  approval(row: ApprovalRow): ApprovalRecord {
    const json = parseJson(row.record);
    const parsed = approvalSchema.safeParse(
      typeof json === 'object' && json !== null ? { ...json, status: row.status } : json,
    );
    if (!parsed.success || parsed.data.id !== row.id) {
      throw this.corrupt('approvals', row.id, parsed.error?.issues[0]?.message ?? 'the id does not match its row');
    }
    return parsed.data as unknown as ApprovalRecord;
  }

  /** A JSON column read back as JSON; unreadable text is `store-corrupt`, naming the row. */
  json(table: string, id: string, text: string): Json {
    const v = parseJson(text);
    if (v === undefined) throw this.corrupt(table, id, 'unreadable JSON');
    return v as Json;
  }

  /** A JSON `record` column read back through its schema (stored JSON is a trust boundary). */
  record<T>(table: string, row: IdRecordRow, schema: z.ZodType<T>, checkId = true): T {
    const parsed = schema.safeParse(parseJson(row.record));
    if (!parsed.success) throw this.corrupt(table, row.id, parsed.error.issues[0]?.message);
    if (checkId && (parsed.data as { id?: unknown }).id !== row.id) throw this.corrupt(table, row.id, 'the id does not match its row');
    return parsed.data;
  }

  private corrupt(table: string, id: string, why: string | undefined): AirlockError {
    return new AirlockError('store-corrupt', `row \`${id}\` of table \`${table}\` in \`${this.file}\` is invalid: ${why ?? 'unreadable JSON'}`, {
      hint: 'the file was edited outside Airlock; restore it from a backup',
      location: { file: this.file, path: `${table}[${id}]` },
    });
  }
}

/**
 * A stored audit row as a record. Its seq is the row's; a row whose text is not a readable record
 * (edited outside Airlock) comes back with schemaVersion 0 and the raw text in `body.unreadable`.
 * Either way a tampered row's leaf hash cannot match, so verification names it instead of crashing.
 */
export function auditRecord(row: AuditRow): AuditRecord {
  const hashes = {
    prevHash: row.prev_hash as Sha256Hex,
    leafHash: row.leaf_hash as Sha256Hex,
    chainHash: row.chain_hash as Sha256Hex,
  };
  const v = parseJson(row.leaf) as Partial<Record<keyof AuditRecord, unknown>> | undefined;
  // JSON.parse yields JSON values only, so checking the top-level shape is enough (and fast on long chains).
  if (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Number.isSafeInteger(v.schemaVersion) &&
    typeof v.type === 'string' &&
    typeof v.time === 'string' &&
    nullableString(v.runId) &&
    nullableString(v.principal) &&
    nullableString(v.onBehalfOf) &&
    typeof v.body === 'object' &&
    v.body !== null &&
    !Array.isArray(v.body)
  ) {
    return {
      seq: row.seq,
      schemaVersion: v.schemaVersion as number,
      type: v.type,
      time: v.time,
      runId: v.runId as string | null,
      principal: v.principal as string | null,
      onBehalfOf: v.onBehalfOf as string | null,
      body: v.body as { readonly [k: string]: Json },
      ...hashes,
    };
  }
  return {
    seq: row.seq,
    schemaVersion: 0,
    type: '',
    time: '',
    runId: null,
    principal: null,
    onBehalfOf: null,
    body: { unreadable: row.leaf },
    ...hashes,
  };
}

/** A row of a table that keeps its record as JSON beside its id. */
export interface IdRecordRow {
  id: string;
  record: string;
}

/** A WHERE clause over the options given (undefined ones are left out); column names are the keys. */
export function filters(opts: Readonly<Record<string, string | undefined>>): { where: string; args: string[] } {
  const where: string[] = [];
  const args: string[] = [];
  for (const [col, v] of Object.entries(opts)) {
    if (v === undefined) continue;
    where.push(`${col} = ?`);
    args.push(v);
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}

function nullableString(v: unknown): boolean {
  return v === null || typeof v === 'string';
}

/** JSON text parsed; undefined when it is not JSON. */
function parseJson(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}
