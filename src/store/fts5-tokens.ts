// The words of context text as SQLite FTS5 sees them, for the stores that index text elsewhere (PostgreSQL:
// postgres-context.ts). FTS5's own tokenizer, run on an in-memory SQLite database: the one way to split,
// fold case and strip diacritics exactly as the embedded store's index does (its unicode61 tables are
// Unicode 6.1's; JavaScript's and PostgreSQL's parsers differ from them and from each other).
import Database from 'better-sqlite3';

/** The tokenizer of the embedded store's full-text index (migration 13's `ctx_fts`). */
export const FTS5_TOKENIZER = 'unicode61 remove_diacritics 2';

/** The most texts tokenized in one pass over the scratch index. */
const BATCH = 256;

/** Splits texts into FTS5's tokens (folded), in order. Synchronous: CPU only, no IO. */
export class Fts5Tokenizer {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[number, string]>;
  private readonly instances: Database.Statement<[], { doc: number; term: string }>;
  private readonly clear: Database.Statement<[]>;

  constructor() {
    this.db = new Database(':memory:');
    // Contentless: only the index is kept, and 'delete-all' empties it at once.
    this.db.exec(`CREATE VIRTUAL TABLE scratch USING fts5 (text, content = '', tokenize = '${FTS5_TOKENIZER}'); CREATE VIRTUAL TABLE words USING fts5vocab (scratch, instance);`);
    this.insert = this.db.prepare('INSERT INTO scratch (rowid, text) VALUES (?, ?)');
    this.instances = this.db.prepare('SELECT doc, term FROM words ORDER BY doc, "offset"');
    this.clear = this.db.prepare("INSERT INTO scratch (scratch) VALUES ('delete-all')");
  }

  /** Each text's tokens, in the order they occur (positions from 0). */
  tokenize(texts: readonly string[]): string[][] {
    const out: string[][] = texts.map(() => []);
    for (let from = 0; from < texts.length; from += BATCH) {
      const batch = texts.slice(from, from + BATCH);
      this.db.transaction(() => {
        batch.forEach((t, i) => this.insert.run(i + 1, t));
        for (const r of this.instances.all()) (out[from + r.doc - 1] as string[]).push(r.term);
        this.clear.run();
      })();
    }
    return out;
  }

  close(): void {
    this.db.close();
  }
}
