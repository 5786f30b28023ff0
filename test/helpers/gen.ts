// A seeded random generator with the few choices the generated (differential) tests make.
import { seededRandom } from '../../src/util/random.js';

/** Seeded choices: the same seed gives the same sequence of ints, coin flips, picks and subsets. */
export class Gen {
  readonly r: () => number;
  constructor(seed: number) {
    this.r = seededRandom(seed);
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.r() < p;
  }
  /** One element of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  /** The elements of `xs`, each kept with probability `p`. */
  subset<T>(xs: readonly T[], p: number): T[] {
    return xs.filter(() => this.chance(p));
  }
}
