// What the store keeps at rest of what runs read: sensitive audit payloads sealed with AES-256-GCM
// under the workspace's payload key (the payload's hash is the additional data, so a sealed text cannot
// be moved to another row), or not kept at all (`hash-only`: the chain keeps the keyed hash, the data is
// gone as after retention); and run state and steps (a run's conversation), always sealed when a key is
// given (bound to their run). Every store seals on the way in and opens on the way out, so readers above
// the store see plain JSON.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AirlockError } from '../errors.js';
import type { AuditPayload } from './store.js';

/** How confidential and restricted payloads are kept (`store.sensitivePayloads`). */
export type SensitivePayloads = 'encrypt' | 'hash-only';

/** What a store needs to seal payloads: the mode and the 32-byte key (`.airlock/payloads.key`), or how to get it when first needed. */
export interface PayloadSealing {
  readonly mode: SensitivePayloads;
  readonly key: Uint8Array | (() => Uint8Array);
}

function keyOf(sealing: PayloadSealing): Uint8Array {
  return typeof sealing.key === 'function' ? sealing.key() : sealing.key;
}

/** The prefix of a sealed payload text; canonical JSON never starts with it. */
const PREFIX = 'enc:v1:';

/** True when `data` is a sealed payload text. */
export function isSealed(data: string): boolean {
  return data.startsWith(PREFIX);
}

/** The payloads as the store keeps them: sensitive ones sealed, or dropped under `hash-only`; others as they are. */
export function sealPayloads(payloads: readonly AuditPayload[], sealing: PayloadSealing | undefined): AuditPayload[] {
  const out: AuditPayload[] = [];
  for (const p of payloads) {
    if (!p.sensitive || !sealing) out.push(p);
    else if (sealing.mode === 'encrypt') out.push({ hash: p.hash, data: seal(p.data, p.hash, keyOf(sealing)) });
    // hash-only: nothing of the data is kept; the record's keyed hash stands for it.
  }
  return out;
}

/** `data` as it was before sealing (a plain payload is returned as it is). */
export function openPayload(data: string, hash: string, sealing: PayloadSealing | undefined, file: string): string {
  return openText(data, hash, sealing, file, `audit payload \`${hash}\``);
}

/** `text` sealed under the key, bound to `bound` (a run's state to its run, a step to its run and number). */
export function sealText(text: string, bound: string, sealing: PayloadSealing): string {
  return seal(text, bound, keyOf(sealing));
}

/** A sealed `text` opened (bound to `bound`), or a plain one as it is; `what` names it in errors. */
export function openText(data: string, bound: string, sealing: PayloadSealing | undefined, file: string, what: string): string {
  if (!isSealed(data)) return data;
  if (!sealing) {
    throw new AirlockError('store', `${what} in \`${file}\` is encrypted, and this store was opened without the payload key`, {
      hint: 'open the store through its workspace (the key is `.airlock/payloads.key` beside it)',
      location: { file },
    });
  }
  const parts = data.slice(PREFIX.length).split(':');
  try {
    const [iv, tag, ct] = parts.map((p) => Buffer.from(p, 'base64url'));
    if (parts.length !== 3 || !iv || !tag || !ct || iv.length !== 12 || tag.length !== 16) throw new Error('malformed');
    const d = createDecipheriv('aes-256-gcm', keyOf(sealing), iv);
    d.setAAD(Buffer.from(bound, 'utf8'));
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ct), d.final()]).toString('utf8');
  } catch (e) {
    throw new AirlockError('store-corrupt', `${what} in \`${file}\` does not open with the payload key: it was altered, moved, or sealed under another key`, {
      hint: 'restore `.airlock/payloads.key` and the store from the same backup',
      location: { file },
      cause: e,
    });
  }
}

function seal(data: string, hash: string, key: Uint8Array): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(hash, 'utf8'));
  const ct = Buffer.concat([c.update(data, 'utf8'), c.final()]);
  return `${PREFIX}${iv.toString('base64url')}:${c.getAuthTag().toString('base64url')}:${ct.toString('base64url')}`;
}

/**
 * A run's state as stored: with a key, sealed whole except who runs it (`agent`, `onBehalfOf`: what the
 * runs list filters on, principal refs, not content; `driver`: what counts an external agent's open runs) and its model usage (counts and cost, what reports
 * sum over many runs), bound to the run's id; without one, as it is.
 */
export function sealRunState(runId: string, state: Record<string, unknown>, text: string, sealing: PayloadSealing | undefined): string {
  if (!sealing) return text;
  return JSON.stringify({ agent: state['agent'] ?? null, driver: state['driver'] ?? null, onBehalfOf: state['onBehalfOf'] ?? null, usage: state['usage'] ?? null, sealed: sealText(text, `run:${runId}`, sealing) });
}

/** The stored state text of run `runId` opened (a state stored plain is returned as it is). */
export function openRunState(runId: string, stored: string, sealing: PayloadSealing | undefined, file: string): string {
  if (!stored.includes('"sealed":"enc:v1:')) return stored;
  let sealed: unknown;
  try {
    sealed = (JSON.parse(stored) as { sealed?: unknown }).sealed;
  } catch {
    return stored;
  }
  return typeof sealed === 'string' ? openText(sealed, `run:${runId}`, sealing, file, `the state of run \`${runId}\``) : stored;
}

/** A run step's item text as stored (sealed, as a JSON string, when a key is given). */
export function sealStep(runId: string, n: number, text: string, sealing: PayloadSealing | undefined): string {
  return sealing ? JSON.stringify(sealText(text, `step:${runId}:${n}`, sealing)) : text;
}

/** A stored step item text opened. */
export function openStep(runId: string, n: number, stored: string, sealing: PayloadSealing | undefined, file: string): string {
  if (!stored.startsWith(`"${PREFIX}`)) return stored;
  return openText(JSON.parse(stored) as string, `step:${runId}:${n}`, sealing, file, `step ${n} of run \`${runId}\``);
}
