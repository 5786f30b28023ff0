// Damage done to a SQLite store's audit rows with its append-only triggers dropped, as an attacker with the file could:
// what the verifyStore tests (verify-store-text.test.ts, verify-store-ranges.test.ts) check every path names alike.
import Database from 'better-sqlite3';
import { chainHash, leafHashOfText } from '../../src/audit/chain.js';

/** One change to the `audit` table. */
export type Tamper =
  | { kind: 'text'; seq: number; at: number; cut: number; put: string; rehash: boolean }
  | { kind: 'respace'; seq: number; rehash: boolean }
  | { kind: 'replace'; seq: number; from: string; to: string; rehash: boolean }
  | { kind: 'delete'; seq: number }
  | { kind: 'move'; seq: number; to: number }
  | { kind: 'swap'; seq: number; with: number }
  | { kind: 'newline'; seq: number; column: 'leaf' | 'prev_hash' | 'chain_hash' }
  | { kind: 'hash'; seq: number; column: 'prev_hash' | 'leaf_hash' | 'chain_hash'; value?: string };

/** Applies `t` to the file with the append-only triggers dropped, as an attacker could. */
export function tamper(file: string, t: Tamper): void {
  const db = new Database(file);
  db.exec('DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;');
  const row = db.prepare<[number], { leaf: string; prev_hash: string; chain_hash: string }>('SELECT leaf, prev_hash, chain_hash FROM audit WHERE seq = ?').get(t.seq);
  if (row) {
    const rewrite = (leaf: string, rehash: boolean): void => {
      if (!rehash) {
        db.prepare('UPDATE audit SET leaf = ? WHERE seq = ?').run(leaf, t.seq);
        return;
      }
      // A forger who recomputes this row's hashes over the new text.
      const lh = leafHashOfText(leaf);
      db.prepare('UPDATE audit SET leaf = ?, leaf_hash = ?, chain_hash = ? WHERE seq = ?').run(leaf, lh, chainHash(row.prev_hash, lh), t.seq);
    };
    switch (t.kind) {
      case 'text': {
        const at = t.at % (row.leaf.length + 1);
        rewrite(row.leaf.slice(0, at) + t.put + row.leaf.slice(at + t.cut), t.rehash);
        break;
      }
      case 'respace':
        rewrite(row.leaf.replace('":', '": '), t.rehash);
        break;
      case 'replace':
        // A rewrite that keeps the text canonical: with its hashes recomputed, only the next row's link shows it.
        rewrite(row.leaf.replace(t.from, t.to), t.rehash);
        break;
      case 'delete':
        db.prepare('DELETE FROM audit WHERE seq = ?').run(t.seq);
        break;
      case 'move':
        db.prepare('UPDATE OR IGNORE audit SET seq = ? WHERE seq = ?').run(t.to, t.seq);
        break;
      case 'swap':
        if (t.with !== t.seq && db.prepare('SELECT 1 FROM audit WHERE seq = ?').get(t.with)) {
          db.prepare('UPDATE audit SET seq = -1 WHERE seq = ?').run(t.seq);
          db.prepare('UPDATE audit SET seq = ? WHERE seq = ?').run(t.seq, t.with);
          db.prepare('UPDATE audit SET seq = ? WHERE seq = -1').run(t.with);
        }
        break;
      case 'newline':
        // A value holding the line separator of the range format.
        db.prepare(`UPDATE audit SET ${t.column} = ${t.column} || char(10) || ${t.column} WHERE seq = ?`).run(t.seq);
        break;
      case 'hash':
        db.prepare(`UPDATE audit SET ${t.column} = ? WHERE seq = ?`).run(t.value ?? 'f'.repeat(64), t.seq);
        break;
    }
  }
  db.close();
}
