// Verification of an export line by line: each record line through ChainVerifier, each payload line checked; where a batch stops, the rest goes through it.
import type { ChainVerdict, ChainVerifier } from './chain-verifier.js';
import { PAYLOAD_PREFIX, splitRecordLine } from './export-line.js';
import { checkPayload } from './payload.js';

/** The original, line-by-line verification: where a batch stops, the rest of the input goes through it. */
export class LineByLine {
  private rest = '';
  private going = true;
  private failure: ChainVerdict | null = null;

  constructor(
    private readonly v: ChainVerifier,
    private readonly key: Uint8Array | string | undefined,
    private readonly payloads: { verified: number; unverifiable: number },
    private lastSeq: number,
    private readonly decoder: InstanceType<typeof TextDecoder>,
  ) {}

  /** Feeds input; false once the verdict is known. */
  chunk(c: string | Uint8Array): boolean {
    this.rest += typeof c === 'string' ? c : this.decoder.decode(c, { stream: true });
    let nl: number;
    let from = 0;
    while (this.going && (nl = this.rest.indexOf('\n', from)) >= 0) {
      this.going = this.line(this.rest.slice(from, nl));
      from = nl + 1;
    }
    this.rest = this.rest.slice(from);
    return this.going;
  }

  /** The verdict at the end of the input (or once known). */
  end(): ChainVerdict {
    if (this.going) {
      this.rest += this.decoder.decode();
      if (this.rest !== '') this.line(this.rest);
    }
    return this.failure ?? this.v.finish();
  }

  private line(line: string): boolean {
    if (line.startsWith(PAYLOAD_PREFIX)) {
      const problem = checkPayload(line, this.key, this.payloads);
      if (problem === null) return true;
      this.failure = payloadFailure(this.v, problem, this.lastSeq);
      return false;
    }
    const parts = splitRecordLine(line);
    const more =
      typeof parts === 'string' ? this.v.pushMalformed(parts) : this.v.pushText(parts.text, parts.prev, parts.leaf, parts.chain);
    this.lastSeq++;
    return more;
  }
}

/** The verdict when a payload line fails: the chain's, if it is already broken, else this line's. */
export function payloadFailure(v: ChainVerifier, problem: string, lastSeq: number): ChainVerdict {
  const chain = v.finish();
  return chain.ok
    ? { ok: false, seq: lastSeq, problem: 'changed', message: `${problem} (the payload line after record ${lastSeq})` }
    : chain;
}
