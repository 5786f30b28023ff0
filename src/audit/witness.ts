// Witnesses of the audit trail's checkpoints (issue #15): somewhere each signed checkpoint also goes, out
// of the operator's reach, so a history rewritten later no longer matches what was witnessed. A file
// witness appends one JSON line per checkpoint (fsynced); a webhook witness POSTs it, signed like
// Airlock's webhooks. `latestWitnessed` reads a file witness back for `airlock audit verify --witness`.
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import type { WitnessConfig } from '../config/audit-schema.js';
import { readSecret } from '../config/secrets.js';
import { signWebhook } from '../notify/signature.js';
import type { StoredCheckpoint } from '../store/store.js';

/** Where checkpoints are witnessed. */
export interface Witness {
  /** For messages: the file or the URL. */
  readonly name: string;
  /** Hands one checkpoint over; rejects when the witness did not take it. */
  send(c: StoredCheckpoint): Promise<void>;
}

/** What a witness is given: the checkpoint's size, head, time and signed note (the note is what counts). */
export function witnessLine(c: StoredCheckpoint): string {
  return `${JSON.stringify({ size: c.size, rootHash: c.rootHash, time: c.time, note: c.note })}\n`;
}

/** A file witness: each checkpoint appended as one line, flushed to disk before `send` resolves. */
export function fileWitness(file: string): Witness {
  return {
    name: file,
    async send(c) {
      const fh = await open(file, 'a', 0o644);
      try {
        await fh.appendFile(witnessLine(c), 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
    },
  };
}

/** A webhook witness: a POST of the witness line's JSON, `Airlock-Signature` signed when a secret is set. */
export function webhookWitness(url: string, secret: string | null, timeoutMs: number, now: () => Date): Witness {
  return {
    name: url,
    async send(c) {
      const body = witnessLine(c);
      const headers: Record<string, string> = { 'content-type': 'application/json', 'airlock-event': 'audit.checkpoint' };
      if (secret) headers['airlock-signature'] = signWebhook(secret, Math.floor(now().getTime() / 1000), body);
      const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) throw new Error(`the witness answered HTTP ${res.status}`);
    },
  };
}

/** The witnesses a workspace's `audit.witnesses` names (files relative to the workspace). */
export function witnessesOf(dir: string, config: readonly WitnessConfig[], now: () => Date): Witness[] {
  return config.map((w, i) =>
    'file' in w ? fileWitness(path.resolve(dir, w.file)) : webhookWitness(w.url, w.secret ? readSecret(dir, `audit.witnesses[${i}]`, w.secret, 'webhook secret') : null, w.timeoutMs, now),
  );
}

/** The last lines a witness file is read back from: checkpoints are a few hundred bytes each. */
const TAIL_BYTES = 256 * 1024;

/**
 * The newest checkpoint note in a file witness: of its complete lines (a last line cut short by a crash is left
 * aside), the one of the largest tree size (instances sharing the file may append out of order); or an error
 * saying what is wrong. Each note's signature is checked by whoever uses it.
 */
export async function latestWitnessed(file: string): Promise<{ readonly size: number; readonly note: string }> {
  let text: string;
  try {
    const { size } = await stat(file);
    if (size > TAIL_BYTES) {
      const fh = await open(file, 'r');
      try {
        const buf = Buffer.alloc(TAIL_BYTES);
        await fh.read(buf, 0, TAIL_BYTES, size - TAIL_BYTES);
        text = buf.toString('utf8');
        text = text.slice(text.indexOf('\n') + 1);
      } finally {
        await fh.close();
      }
    } else {
      text = await readFile(file, 'utf8');
    }
  } catch (e) {
    throw new AirlockError('input', `cannot read the witness file: ${(e as Error).message}`, { location: { file }, hint: 'name the file an `audit.witnesses` entry writes' });
  }
  const complete = text.slice(0, text.lastIndexOf('\n') + 1).split('\n');
  let best: { size: number; note: string } | null = null;
  for (const line of complete) {
    if (line.trim() === '') continue;
    const parsed = safeJson(line) as { size?: unknown; note?: unknown } | undefined;
    if (!parsed || typeof parsed.note !== 'string' || !Number.isSafeInteger(parsed.size)) continue;
    if (best === null || (parsed.size as number) > best.size) best = { size: parsed.size as number, note: parsed.note };
  }
  if (best === null) {
    throw new AirlockError('input', complete.some((l) => l.trim() !== '') ? 'the witness file holds no witnessed checkpoint line' : 'the witness file holds no checkpoint', {
      location: { file },
      hint: 'each line is `{"size":..,"rootHash":..,"time":..,"note":..}` as Airlock appends them',
    });
  }
  return best;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
