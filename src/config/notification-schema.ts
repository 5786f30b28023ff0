// The workspace's `notifications` section: who hears of approval events, and how (signed webhooks,
// Slack, email). Shapes only (core); the notifier (notify/) and the channels (gateway/approvals/) read them.
import { z } from 'zod';
import { CLASSIFICATIONS } from '../types.js';
import { name } from './schema-parts.js';

/** A name of an environment variable (a secret is read from the environment, never written in the workspace). */
export const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name, e.g. `SLACK_BOT_TOKEN`');

/** Slack as an approval channel: messages through the Web API, button clicks through the signed interactivity endpoint. */
export const slackSchema = z.strictObject({
  channel: z.string().min(1).describe('The channel id (e.g. `C0123456789`) approval requests are posted to.'),
  teamId: z.string().regex(/^[TE][A-Z0-9]{2,}$/, 'expected a Slack team (or enterprise) id, e.g. `T0123ABCD`').describe('The Slack workspace whose people `people` names: a click from any other team is refused.'),
  botTokenEnv: envName.describe('The environment variable holding the bot token (`xoxb-...`, scope `chat:write`); never the token itself.'),
  signingSecretEnv: envName.describe("The environment variable holding the Slack app's signing secret, which every button click is verified against."),
  people: z
    .record(z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'expected a Slack user id, e.g. `U0123ABCD`'), z.string().regex(/^user:[a-z][a-z0-9_-]*$/, 'expected `user:<id>`, a declared person'))
    .default({})
    .describe('Which declared person each Slack user is: a click by anyone else is refused.'),
  clearance: z.enum(CLASSIFICATIONS).default('internal').describe('The most sensitive action whose arguments the message may show; above it they are withheld (open the approval elsewhere).'),
  apiUrl: z.url({ protocol: /^https?$/ }).default('https://slack.com/api').describe("Slack's Web API base (changed only for tests)."),
  responseUrlPrefix: z
    .url({ protocol: /^https?$/ })
    .refine((u) => u.endsWith('/'), 'expected a URL ending in `/`, e.g. `https://hooks.slack.com/`')
    .default('https://hooks.slack.com/')
    .describe("Where a click's `response_url` must point (same origin, under this path) before Airlock answers to it (changed only for tests)."),
  maxAttempts: z.number().int().min(1).max(30).default(8).describe('Delivery attempts before a message is marked failed.'),
  timeoutMs: z.number().int().positive().max(60_000).default(5000).describe('How long one attempt may take.'),
});

/** Email as an approval channel: each eligible person is mailed the summary and a personal, signed, single-use link to the approval. */
export const emailSchema = z.strictObject({
  smtp: z.strictObject({
    host: z.string().min(1).describe('The SMTP server.'),
    port: z.number().int().min(1).max(65535).default(587),
    secure: z.boolean().default(false).describe('TLS from the first byte (port 465); otherwise STARTTLS when the server offers it.'),
    requireTls: z.boolean().default(true).describe('Refuse to send unless the connection is encrypted (STARTTLS or `secure`); turn off only for a relay on loopback.'),
    userEnv: envName.optional().describe('The environment variable holding the SMTP user name.'),
    passwordEnv: envName.optional().describe('The environment variable holding the SMTP password (never the password itself).'),
  }),
  from: z.string().min(3).describe('The sender, e.g. `Airlock <airlock@acme.example>`.'),
  people: z
    .record(z.string().regex(/^user:[a-z][a-z0-9_-]*$/, 'expected `user:<id>`, a declared person'), z.email())
    .default({})
    .describe('Where each person is mailed; a request goes to every one of them who may decide it.'),
  linkMinutes: z.number().int().min(1).max(24 * 60).default(60).describe('How long a link works (never past the approval itself).'),
  clearance: z.enum(CLASSIFICATIONS).default('internal').describe('The most sensitive action whose arguments an email may show; above it they are withheld (open the link).'),
  maxAttempts: z.number().int().min(1).max(30).default(8).describe('Delivery attempts before a request is marked failed.'),
  timeoutMs: z.number().int().positive().max(60_000).default(10_000).describe('How long one attempt may take.'),
});

/** Signed webhooks, Slack and email on approval events (docs/approvals.md). */
export const notificationsSchema = z
  .strictObject({
    webhooks: z
      .array(
        z
          .strictObject({
            name: name.describe('A lowercase name for the webhook, unique in the workspace (the delivery log cites it).'),
            url: z
              .url({ protocol: /^https?$/ })
              .describe('Where the POST goes: https, except on loopback (127.0.0.1, ::1, localhost). Redirects are never followed.'),
            secretEnv: z
              .string()
              .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name, e.g. `AIRLOCK_WEBHOOK_SECRET`')
              .describe('The environment variable holding the HMAC-SHA256 signing secret (never the secret itself).'),
            events: z
              .array(z.enum(['approval.requested', 'approval.decided', 'approval.expired', 'approval.escalated', 'approval.withdrawn']))
              .min(1)
              .default(['approval.requested', 'approval.decided', 'approval.expired', 'approval.escalated', 'approval.withdrawn'])
              .describe('The approval events sent to this webhook (default: all five).'),
            maxAttempts: z.number().int().min(1).max(30).default(8).describe('Delivery attempts before a notification is marked failed.'),
            timeoutMs: z.number().int().positive().max(60_000).default(5000).describe('How long one attempt may take before it counts as failed.'),
          })
          .superRefine((w, ctx) => {
            const url = URL.canParse(w.url) ? new URL(w.url) : null;
            const host = url?.hostname ?? '';
            if (url && url.protocol !== 'https:' && !['127.0.0.1', '[::1]', 'localhost'].includes(host)) {
              ctx.addIssue({
                code: 'custom',
                path: ['url'],
                message: `webhook \`${w.name}\` sends approvals over plain http to \`${host}\``,
                params: { hint: 'use an `https://` URL (plain http is allowed only on loopback: 127.0.0.1, ::1, localhost)' },
              });
            }
          }),
      )
      .default([])
      .superRefine((list, ctx) => {
        list.forEach((w, i) => {
          if (list.findIndex((o) => o.name === w.name) < i) {
            ctx.addIssue({
              code: 'custom',
              path: [i, 'name'],
              message: `webhook name \`${w.name}\` is used twice`,
              params: { hint: 'give each webhook its own `name`' },
            });
          }
        });
      })
      .describe('Webhooks that receive a signed POST on each approval event (at least once: deduplicate on the `id` in the signed body).'),
    slack: slackSchema.optional().describe('Approval requests posted to a Slack channel with Approve and Reject buttons (docs/approvals.md, "Slack").'),
    email: emailSchema.optional().describe('Approval requests mailed to the people who may decide them, each with a personal link (docs/approvals.md, "Email").'),
  })
  .default({ webhooks: [] })
  .describe('Notifications sent by Airlock on approval events: signed webhooks, Slack and email.');
