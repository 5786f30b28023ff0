// Writing to a stream whose reader may go away (a client that closed its end of a pipe, a browser that
// cancelled a download, a full disk): a write waits for room, and fails, never hangs and never becomes an
// uncaught error, once the stream failed or closed.
import type { Writable } from 'node:stream';

/** Writes to one stream with backpressure; every failure of the stream reaches the writer as a rejection. */
export class GuardedWriter {
  private failure: Error | null = null;

  constructor(private readonly out: Writable) {
    // Kept for the stream's life: a failure while the writer awaits something else (a store read) would
    // otherwise be an 'error' event nobody hears, and end the process.
    out.on('error', (e: Error) => {
      this.failure ??= e;
    });
  }

  /** Why the stream cannot be written any more, once it failed. */
  get failed(): Error | null {
    return this.failure;
  }

  /** Writes `chunk`, then waits while the stream is full; rejects once the stream failed or closed. */
  async write(chunk: string | Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.out.destroyed || this.out.writableEnded) throw new Error('the output was closed');
    if (this.out.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        this.out.off('drain', onDrain).off('error', onFail).off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = (): void => done();
      const onFail = (err: Error): void => done(err);
      const onClose = (): void => done(this.failure ?? new Error('the output was closed'));
      this.out.once('drain', onDrain).once('error', onFail).once('close', onClose);
    });
  }
}
