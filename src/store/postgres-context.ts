// Context from declared sources on PostgreSQL (#15): documents, access rows, chunks, versions and vectors,
// and the reads: full-text search with the entitlement filter inside the query, ranked as SQLite's FTS5 does.
// SKELETON: the names and signatures are final; the bodies follow.
import type pg from 'pg';
import { AirlockError } from '../errors.js';
import type { Classification } from '../types.js';
import type { ChunkVector, ContextChanges, ContextCited, ContextDocumentQuery, ContextDocumentState, ContextHit, ContextQuery, UnembeddedChunk } from './context-records.js';

/** The DDL of the context tables and indexes (one versioned migration, run once in a transaction). */
export const PG_CONTEXT_SQL = `
CREATE TABLE IF NOT EXISTS ctx_documents (id BIGSERIAL PRIMARY KEY, source TEXT NOT NULL, path TEXT NOT NULL, version_hash TEXT NOT NULL, modified_at TEXT NOT NULL, ingested_at TEXT NOT NULL, labels TEXT NOT NULL, classification TEXT NOT NULL, trust TEXT NOT NULL, owner TEXT NOT NULL, max_age_days DOUBLE PRECISION NOT NULL, UNIQUE (source, path));
`;

const notYet = (): never => {
  throw new AirlockError('internal', 'not yet');
};

/** The store's context methods on a PostgreSQL pool. */
export class PgContext {
  constructor(private readonly pool: pg.Pool) {}

  contextDocuments(_source: string): Promise<readonly ContextDocumentState[]> {
    return Promise.resolve(notYet());
  }
  contextSources(): Promise<readonly string[]> {
    return Promise.resolve(notYet());
  }
  changeContext(_changes: ContextChanges): Promise<void> {
    return Promise.resolve(notYet());
  }
  searchContext(_query: ContextQuery): Promise<readonly ContextHit[]> {
    return Promise.resolve(notYet());
  }
  readContextDocument(_query: ContextDocumentQuery): Promise<readonly ContextHit[]> {
    return Promise.resolve(notYet());
  }
  contextUnembedded(_source: string, _model: string, _classifications: readonly Classification[], _limit: number): Promise<readonly UnembeddedChunk[]> {
    return Promise.resolve(notYet());
  }
  putContextVectors(_model: string, _rows: readonly ChunkVector[]): Promise<void> {
    return Promise.resolve(notYet());
  }
  contextCited(_source: string, _path: string, _start: number, _end: number, _entitlements: readonly (readonly string[])[]): Promise<ContextCited> {
    return Promise.resolve(notYet());
  }
  /** The pool (for the engineer wiring the store; unused by the skeleton). */
  get connections(): pg.Pool {
    return this.pool;
  }
}
