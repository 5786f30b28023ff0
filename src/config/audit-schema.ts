// The workspace's `audit` section: signed checkpoints of the audit trail (how often, under which name
// and key) and the witnesses they are sent to (issue #15; audit/checkpoints.ts makes them).
import { z } from 'zod';
import { secretSource } from './schema-parts.js';

/** A log or key name as C2SP signed notes allow: no spaces, no `+`. */
const keyName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\s+]+$/u, 'a name without spaces or `+`, such as `airlock.example.com/refunds`');

const witnessSchema = z.union([
  z
    .strictObject({
      file: z.string().min(1).describe('A file each checkpoint is appended to (one JSON line each), best on storage the operator cannot rewrite (another host, a WORM bucket mount).'),
    })
    .describe('A file witness.'),
  z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }).describe('A second party that keeps the checkpoints it is sent (a POST of a JSON body, signed with `secret`).'),
      secret: secretSource.optional().describe('The HMAC secret the POST is signed with (the `Airlock-Signature` header, as webhooks are).'),
      timeoutMs: z.number().int().min(100).max(60_000).default(5000),
    })
    .describe('A webhook witness.'),
]);

export const auditSchema = z
  .strictObject({
    checkpoints: z
      .strictObject({
        every: z.number().int().min(1).max(1_000_000).default(1000).describe('A checkpoint once this many records were added since the last one.'),
        intervalSeconds: z.number().int().min(1).max(86_400).default(60).describe('And at least this often while records are added.'),
        origin: keyName.optional().describe('The log name checkpoints are signed under (default `airlock/<workspace name>`); the key name too.'),
        key: secretSource
          .optional()
          .describe('The signer key (`PRIVATE+KEY+name+hash+key`, C2SP format) from the environment or a file; default: a key made once in `.airlock/checkpoint.key`. Instances sharing one database must share one key.'),
      })
      .default({ every: 1000, intervalSeconds: 60 }),
    witnesses: z.array(witnessSchema).max(10).default([]).describe('Where each checkpoint is also sent, so the operator cannot rewrite history unseen.'),
  })
  .default({ checkpoints: { every: 1000, intervalSeconds: 60 }, witnesses: [] });

export type AuditConfig = z.infer<typeof auditSchema>;
export type WitnessConfig = z.infer<typeof witnessSchema>;
