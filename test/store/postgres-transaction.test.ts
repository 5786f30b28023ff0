// `transaction()`'s decisions when the connection goes, on a scripted pool (the real server's side of
// these races is in postgres.test.ts): a loss before COMMIT was sent runs the work again, a loss during
// COMMIT never does and says the outcome is unknown, and a loss the client heard of before COMMIT is
// before COMMIT even when the work itself went on.
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { transaction } from '../../src/store/postgres-connection.js';

const lost = (): Error => new Error('Connection terminated unexpectedly');

/** A client whose statements answer as `answer` says (a thrown error fails that statement). */
class ScriptedClient extends EventEmitter {
  readonly sent: string[] = [];
  released: unknown = 'not yet';
  constructor(private readonly answer: (sql: string) => void) {
    super();
  }
  query(sql: string): Promise<{ rows: [] }> {
    this.sent.push(sql);
    try {
      this.answer(sql);
      return Promise.resolve({ rows: [] });
    } catch (e) {
      return Promise.reject(e);
    }
  }
  release(err?: unknown): void {
    this.released = err;
  }
}

/** A pool handing out the scripted clients in turn. */
function pool(...clients: ScriptedClient[]): { pool: pg.Pool; handed: ScriptedClient[] } {
  const handed: ScriptedClient[] = [];
  return {
    handed,
    pool: {
      connect: () => {
        const c = clients[handed.length];
        if (!c) return Promise.reject(new Error('no more clients'));
        handed.push(c);
        return Promise.resolve(c);
      },
    } as unknown as pg.Pool,
  };
}

describe('transaction() and a lost connection', () => {
  it('runs the work again when the connection was lost before COMMIT, on a new connection, dropping the old one', async () => {
    const first = new ScriptedClient((sql) => {
      if (sql === 'step' || sql === 'ROLLBACK') throw lost();
    });
    const second = new ScriptedClient(() => undefined);
    const p = pool(first, second);
    let runs = 0;
    const value = await transaction(p.pool, async (c) => {
      runs++;
      await c.query('step');
      return 'done';
    }, { baseDelayMs: 1 });
    expect(value).toBe('done');
    expect(runs).toBe(2);
    expect(first.sent).toEqual(['BEGIN', 'step', 'ROLLBACK']);
    expect(first.released).toBeInstanceOf(Error);
    expect(second.sent).toEqual(['BEGIN', 'step', 'COMMIT']);
  });

  it('never runs the work again when the connection was lost during COMMIT, and says its outcome is unknown', async () => {
    const c = new ScriptedClient((sql) => {
      if (sql === 'COMMIT' || sql === 'ROLLBACK') throw lost();
    });
    const p = pool(c, new ScriptedClient(() => undefined));
    let runs = 0;
    const failure = await transaction(p.pool, async (client) => {
      runs++;
      await client.query('step');
    }, { baseDelayMs: 1 }).catch((e: unknown) => e);
    expect(runs).toBe(1);
    expect(p.handed).toHaveLength(1);
    expect(failure).toBeInstanceOf(AirlockError);
    expect(failure).toMatchObject({ code: 'store-unknown', retryable: false });
    expect((failure as AirlockError).message).toContain('may or may not have been applied');
  });

  it('runs the work again when the loss was heard before COMMIT, though the work went on (COMMIT is never sent)', async () => {
    const first = new ScriptedClient((sql) => {
      if (sql === 'ROLLBACK') throw lost();
    });
    const p = pool(first, new ScriptedClient(() => undefined));
    let runs = 0;
    await transaction(p.pool, async (c) => {
      runs++;
      await c.query('step');
      // The server's goodbye arrives as an event; the work's own statements had already answered.
      if (runs === 1) (c as unknown as EventEmitter).emit('error', lost());
    }, { baseDelayMs: 1 });
    expect(runs).toBe(2);
    expect(first.sent).toEqual(['BEGIN', 'step', 'ROLLBACK']);
  });

  it('gives up after its tries when every connection is lost, with the loss itself', async () => {
    const clients = Array.from({ length: 3 }, () => new ScriptedClient((sql) => {
      if (sql !== 'BEGIN') throw lost();
    }));
    let runs = 0;
    const failure = await transaction(pool(...clients).pool, async (c) => {
      runs++;
      await c.query('step');
    }, { attempts: 3, baseDelayMs: 1 }).catch((e: unknown) => e);
    expect(runs).toBe(3);
    expect(String(failure)).toContain('Connection terminated unexpectedly');
  });
});
