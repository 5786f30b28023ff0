// Making signed checkpoints of the audit trail (issue #15): the RFC 9162 tree head of every record so
// far, extended from the last checkpoint's right edge, signed as a C2SP note, kept compare-and-set in
// the store (instances on one store keep one of each size) and sent to the witnesses. Made every
// `every` records this process appends, every `intervalSeconds` while the trail grows, and on close.
import path from 'node:path';
import { AirlockError } from '../errors.js';
import type { AuditConfig } from '../config/audit-schema.js';
import { readSecret } from '../config/secrets.js';
import type { StoredCheckpoint, Store } from '../store/store.js';
import type { Sha256Hex } from '../types.js';
import { stateKey } from '../util/key-file.js';
import type { ChainAnchor } from './chain.js';
import { checkpointText } from './checkpoint.js';
import { exportEndOf, signExportEnd } from './export-end.js';
import { checkpointLine } from './export-line.js';
import { extendFrontierBytes, frontierHead, hashesIn, joinHashes, type Hash } from './merkle.js';
import { nativeMerkleExtend } from './native-scan.js';
import { openNote, parseSignerKey, signerFromSeed, signNote, type NoteSigner, type NoteVerifier } from './signed-note.js';
import { CheckpointCheck, type CheckpointNote, type CheckpointVerdict, type FrontierExtend } from './checkpoint-check.js';
import type { Witness } from './witness.js';

/** Leaf hashes read per store call while a checkpoint is made. */
const LEAF_PAGE = 65_536;

/** The signer of a workspace's checkpoints: its `audit.checkpoints.key`, or the key kept in `.airlock/checkpoint.key`. */
export function checkpointSigner(workspaceDir: string, workspaceName: string, config: AuditConfig['checkpoints']): NoteSigner {
  const origin = config.origin ?? `airlock/${workspaceName}`;
  if (config.key) {
    const text = readSecret(workspaceDir, 'audit.checkpoints.key', config.key, 'signing key') as string;
    const signer = parseSignerKey(text);
    const where = 'env' in config.key ? `\`${config.key.env}\`` : `\`${config.key.file}\``;
    if ('problem' in signer) {
      throw new AirlockError('config', `the checkpoint signer key in ${where} is not a C2SP signer key: ${signer.problem}`, {
        hint: 'make one with `airlock audit key --new` and keep its PRIVATE+KEY line secret',
      });
    }
    if (signer.name !== origin) {
      throw new AirlockError('config', `the checkpoint signer key in ${where} is named \`${signer.name}\`, the log \`${origin}\``, {
        hint: `set audit.checkpoints.origin to \`${signer.name}\`, or make a key named \`${origin}\``,
      });
    }
    return signer;
  }
  const seed = stateKey(path.join(workspaceDir, '.airlock'), 'checkpoint.key', (f, bytes) => {
    throw new AirlockError('config', `\`${f}\` holds ${bytes} bytes; a checkpoint key is 32`, { hint: 'restore the key from a backup: verifiers hold its public key' });
  });
  const signer = signerFromSeed(origin, seed);
  if ('problem' in signer) throw new AirlockError('config', `audit.checkpoints.origin: ${signer.problem}`);
  return signer;
}

/** What a `Checkpointer` needs besides the store and the signer. */
export interface CheckpointerOptions {
  readonly every: number;
  readonly intervalMs: number;
  readonly now: () => Date;
  readonly witnesses: readonly Witness[];
  /** Told of a checkpoint that failed, or a witness that did not take one; never thrown. */
  readonly onError: (error: unknown, doing: string) => void;
}

/** The tree's extension by leaves: the C one where it is built (`AIRLOCK_NATIVE_SCAN=0`: node:crypto's). */
export function treeExtend(): FrontierExtend {
  return nativeMerkleExtend() ?? extendFrontierBytes;
}

const toHex = (h: Hash): Sha256Hex => Buffer.from(h).toString('hex') as Sha256Hex;
const fromHex = (h: string): Hash => new Uint8Array(Buffer.from(h, 'hex'));

/**
 * Makes signed checkpoints of one store's trail, and sends each it makes to the witnesses. A witness that
 * did not take one is owed it: sent again at each check (every `intervalMs`, quiet trail or not) until it
 * takes it or a newer one replaces it, so a witness is never left behind by one failed send.
 */
export class Checkpointer {
  private pending = 0;
  /** Per witness, the newest checkpoint this process made that it has not taken yet. */
  private readonly owed = new Map<Witness, StoredCheckpoint>();
  private running: Promise<StoredCheckpoint | null> | null = null;
  private timer: NodeJS.Timeout | null = null;

  /** `signer` is asked for at the first checkpoint (a default key file is made only then). */
  constructor(
    private readonly store: Store,
    private readonly signer: () => NoteSigner,
    private readonly opts: CheckpointerOptions,
  ) {}

  /** The log's verifier key: what `airlock audit verify --key` takes. */
  get verifier(): NoteVerifier {
    return this.signer().verifier;
  }

  /** The signed end of an export of the records after `start` up to `head` (export-end.ts), made now. */
  exportEnd(start: ChainAnchor | null, head: ChainAnchor | null): string {
    const signer = this.signer();
    return signExportEnd(exportEndOf(signer.name, start, head, this.opts.now().toISOString()), signer);
  }

  /** Counts records this process appended; at `every` a checkpoint is made (in the background). */
  appended(records: number): void {
    this.pending += records;
    if (this.pending >= this.opts.every) this.background();
  }

  /** Checks the trail every `intervalMs` (timer unref'd: it never keeps a process alive). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.background(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and, when this process appended records since the last checkpoint, makes one; a witness owed one is tried once more. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.running) await this.running.catch(() => undefined);
    if (this.pending > 0) await this.checkpoint().catch((e: unknown) => this.opts.onError(e, 'make a checkpoint on close'));
    else await this.sendOwed();
  }

  /**
   * A checkpoint of the whole trail as it stands: made, signed, kept and witnessed now, unless the
   * latest kept one covers every record already (then that one). One at a time per process.
   */
  async checkpoint(): Promise<StoredCheckpoint | null> {
    while (this.running) await this.running.catch(() => undefined);
    this.pending = 0;
    const run = this.make();
    this.running = run;
    try {
      return await run;
    } finally {
      this.running = null;
    }
  }

  private background(): void {
    if (this.running) return;
    this.checkpoint().catch((e: unknown) => this.opts.onError(e, 'make a checkpoint'));
  }

  private async make(): Promise<StoredCheckpoint | null> {
    const latest = await this.store.latestCheckpoint();
    // Every instance on one store signs with one key: a checkpoint under another would leave a trail
    // no single verifier key checks. The trail's latest checkpoint says which key that is.
    const signer = this.signer();
    if (latest && 'problem' in openNote(latest.note, signer.verifier)) {
      throw new AirlockError('config', `this instance's checkpoint key (${signer.verifier.text}) did not sign the trail's checkpoints; no checkpoint was made`, {
        hint: 'every instance on one store needs the same key: set audit.checkpoints.key to the shared signer key (`airlock audit key --new NAME` makes one)',
      });
    }
    // A newer checkpoint than one a witness is owed was made elsewhere (its maker sends it): the older is owed no more.
    for (const [w, c] of this.owed) if (latest && c.size < latest.size) this.owed.delete(w);
    let size = latest?.size ?? 0;
    let frontier = latest ? latest.frontier.map(fromHex) : [];
    if (latest && toHex(frontierHead(frontier)) !== latest.rootHash) {
      throw new AirlockError('store-corrupt', `the kept checkpoint of ${latest.size} records does not match its own right edge`, {
        hint: 'run `airlock audit verify`: the checkpoints table was edited outside Airlock',
      });
    }
    // The right edge as bytes while it grows (what the C extension takes), back to hashes once at the end.
    const extend = treeExtend();
    let edge = joinHashes(frontier);
    for (;;) {
      const bytes = await this.store.readLeafHashes(size + 1, LEAF_PAGE);
      const n = bytes.length / 32;
      if (n === 0) break;
      edge = extend(edge, size, bytes);
      size += n;
      if (n < LEAF_PAGE) break;
    }
    frontier = [...hashesIn(edge)];
    if (latest && size === latest.size) {
      await this.sendOwed();
      return latest;
    }
    if (size === 0) return null;
    const rootHash = toHex(frontierHead(frontier));
    const time = this.opts.now().toISOString();
    const note = signNote(checkpointText({ origin: signer.name, size, rootHash, time }), signer);
    const made: StoredCheckpoint = { size, rootHash, time, note, frontier: frontier.map(toHex) };
    if (!(await this.store.addCheckpoint(made))) {
      await this.sendOwed();
      return this.store.latestCheckpoint();
    }
    for (const w of this.opts.witnesses) this.owed.set(w, made);
    await this.sendOwed();
    return made;
  }

  /** Sends each witness the checkpoint it is owed; one it does not take stays owed (and is told of). */
  private async sendOwed(): Promise<void> {
    await Promise.all(
      [...this.owed].map(async ([w, c]) => {
        try {
          await w.send(c);
          if (this.owed.get(w) === c) this.owed.delete(w);
        } catch (e) {
          this.opts.onError(e, `send checkpoint ${c.size} to witness ${w.name} (sent again at the next check)`);
        }
      }),
    );
  }
}

/** The notes to check a store's trail against: every checkpoint it keeps, and the `witnessed` ones. */
export async function checkpointNotes(store: Store, witnessed: readonly string[]): Promise<CheckpointNote[]> {
  return [...(await keptCheckpoints(store)).map((c): CheckpointNote => ({ note: c.note, from: 'trail' })), ...witnessed.map((note): CheckpointNote => ({ note, from: 'witness' }))];
}

/** Every checkpoint the store keeps of at most `upTo` records (default: all), smallest first, read a page at a time. */
export async function keptCheckpoints(store: Store, upTo?: number): Promise<StoredCheckpoint[]> {
  const all: StoredCheckpoint[] = [];
  for (let before = upTo === undefined ? undefined : upTo + 1; ; ) {
    const page = await store.listCheckpoints({ ...(before === undefined ? {} : { beforeSize: before }), limit: 10_000 });
    all.push(...page);
    if (page.length < 10_000) break;
    before = (page[page.length - 1] as StoredCheckpoint).size;
  }
  return all.reverse();
}

/** An export's trailer: the checkpoint lines of every checkpoint kept up to the exported head. */
export async function checkpointTrailer(store: Store, head: { readonly seq: number } | null): Promise<string> {
  return (await keptCheckpoints(store, head?.seq ?? 0)).map((c) => checkpointLine(c.note)).join('');
}

/**
 * Checks every checkpoint the store keeps, and each of `witnessed` (notes witnesses kept), against the
 * store's leaf hashes in one pass: run after the chain verified (which ties each leaf hash to its text).
 */
export async function checkStoreCheckpoints(store: Store, verifier: NoteVerifier, witnessed: readonly string[] = []): Promise<CheckpointVerdict> {
  return checkStoreLeaves(store, new CheckpointCheck(verifier, await checkpointNotes(store, witnessed), treeExtend()));
}

/** `check`'s verdict on every leaf hash the store holds, read a page at a time. */
export async function checkStoreLeaves(store: Store, check: CheckpointCheck): Promise<CheckpointVerdict> {
  for (let seq = 1; ; ) {
    const bytes = await store.readLeafHashes(seq, LEAF_PAGE);
    check.push(bytes);
    seq += bytes.length / 32;
    if (bytes.length < LEAF_PAGE * 32) break;
  }
  return check.finish(false);
}
