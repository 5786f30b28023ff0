// Checking signed checkpoints against a trail's leaves (pure, streaming): each checkpoint must verify
// under the log's key and name the tree head of exactly the leaves at its size. What it catches, beside
// the chain: a removed tail (a checkpoint or witness saw more records than are here), an edited,
// inserted or reordered record even with every chain hash recomputed (the signed head differs), and
// a forked history (two signed heads that cannot both be prefixes of one trail).
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { extendFrontierBytes, frontierHead, hashesIn } from './merkle.js';

/** How the tree is extended by leaves (merkle.ts `extendFrontierBytes`, or the C version native-scan.ts loads). */
export type FrontierExtend = (frontier: Uint8Array, size: number, leaves: Uint8Array) => Uint8Array;
import type { NoteVerifier } from './signed-note.js';

/** Why checkpoints do not vouch for a trail. */
export type CheckpointProblem = 'unsigned' | 'mismatch' | 'fork' | 'tail-removed' | 'uncovered' | 'none';

/** The verdict over a trail's checkpoints. */
export type CheckpointVerdict =
  | {
      readonly ok: true;
      /** Checkpoints checked (witnessed ones included). */
      readonly checked: number;
      /** The largest checkpoint that held. */
      readonly latest: Checkpoint | null;
      /** Records after `latest` (not yet covered by a signed checkpoint). */
      readonly uncovered: number;
      readonly witnessed: Checkpoint | null;
    }
  | { readonly ok: false; readonly problem: CheckpointProblem; readonly message: string };

/** A signed checkpoint to check, and where it came from (for messages). */
export interface CheckpointNote {
  readonly note: string;
  /** `witness` for one a witness kept: a mismatch there is a fork, a larger size a removed tail. */
  readonly from: 'trail' | 'witness';
}

interface Target {
  readonly c: Checkpoint;
  readonly from: 'trail' | 'witness';
}

/** Feeds a trail's leaf hashes in order; says whether every checkpoint holds. */
export class CheckpointCheck {
  private readonly targets: Target[] = [];
  private next = 0;
  private frontier: Uint8Array = new Uint8Array(0);
  private size = 0;
  private failure: CheckpointVerdict | null = null;
  private latest: Checkpoint | null = null;
  private witnessed: Checkpoint | null = null;

  constructor(
    verifier: NoteVerifier,
    notes: readonly CheckpointNote[],
    private readonly extend: FrontierExtend = extendFrontierBytes,
  ) {
    for (const n of notes) {
      const c = openCheckpoint(n.note, verifier);
      if ('problem' in c) {
        this.failure ??= { ok: false, problem: 'unsigned', message: `a ${n.from === 'witness' ? 'witnessed ' : ''}checkpoint does not verify with key ${verifier.text}: ${c.problem}` };
        continue;
      }
      this.targets.push({ c, from: n.from });
    }
    this.targets.sort((a, b) => a.c.size - b.c.size);
    this.skipEmpty();
  }

  /** The next leaf hashes of the trail (32 bytes each, concatenated), in order. */
  push(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length && this.failure === null) {
      const target = this.targets[this.next];
      const want = target ? target.c.size - this.size : Infinity;
      const take = Math.min(want, (bytes.length - at) / 32);
      const chunk = bytes.subarray(at, at + take * 32);
      this.frontier = this.extend(this.frontier, this.size, chunk);
      this.size += take;
      at += take * 32;
      if (target && this.size === target.c.size) this.reached();
    }
  }

  /**
   * The verdict once every leaf was pushed. `complete`: the trail must end at a checkpoint (an export
   * ends with one made when it was written, so records after the last are a cut or an addition).
   */
  finish(complete: boolean): CheckpointVerdict {
    if (this.failure) return this.failure;
    const beyond = this.targets[this.next];
    if (beyond) {
      const who = beyond.from === 'witness' ? 'a witness holds a checkpoint' : 'a signed checkpoint covers';
      return {
        ok: false,
        problem: 'tail-removed',
        message: `${who} ${beyond.c.size} records (made ${beyond.c.time}), but the trail holds ${this.size}: records after #${this.size} were removed`,
      };
    }
    if (this.targets.length === 0) {
      return { ok: false, problem: 'none', message: 'the trail holds no signed checkpoint' };
    }
    const uncovered = this.size - (this.latest?.size ?? 0);
    if (complete && uncovered > 0) {
      return {
        ok: false,
        problem: 'uncovered',
        message: `records #${(this.latest?.size ?? 0) + 1} to #${this.size} are covered by no signed checkpoint: the end of the export was cut, or records were added to it`,
      };
    }
    return { ok: true, checked: this.targets.length, latest: this.latest, uncovered, witnessed: this.witnessed };
  }

  private reached(): void {
    const head = Buffer.from(frontierHead([...hashesIn(this.frontier)])).toString('hex');
    while (this.failure === null) {
      const t = this.targets[this.next];
      if (!t || t.c.size !== this.size) break;
      if (t.c.rootHash !== head) {
        this.failure = {
          ok: false,
          problem: t.from === 'witness' ? 'fork' : 'mismatch',
          message:
            t.from === 'witness'
              ? `the witnessed checkpoint of ${t.c.size} records (made ${t.c.time}) names another tree head than this trail's first ${t.c.size} records: the history was rewritten or forked after it was witnessed`
              : `the signed checkpoint of ${t.c.size} records (made ${t.c.time}) names another tree head than the trail's first ${t.c.size} records: a record up to #${t.c.size} was changed, inserted, removed or reordered`,
        };
        return;
      }
      if (t.from === 'witness') this.witnessed = t.c;
      else this.latest = t.c;
      this.next++;
    }
    this.skipEmpty();
  }

  /** Checkpoints of an empty tree say nothing to check against leaves. */
  private skipEmpty(): void {
    while (this.targets[this.next]?.c.size === 0) this.next++;
  }
}
