// Instances on one PostgreSQL database must share `.airlock/payloads.key` and `.airlock/audit.key` (#15): one that
// opens it with another key refuses to start, naming the file, and seals or hashes nothing under it.
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import { AirlockError } from '../../src/errors.js';
import { keyFingerprint } from '../../src/store/key-fingerprints.js';
import { createTestDatabase, ON_POSTGRES } from '../helpers/postgres.js';
import { copyAcme, openWorkspaceStore } from '../helpers/workspace.js';

let cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

describe('workspace keys shared by the instances on one store', () => {
  it('opens again with the same keys, and refuses another payload key or audit key, naming the file', async () => {
    const ws = copyAcme();
    cleanups.push(ws.cleanup);
    if (!ON_POSTGRES) {
      // (Under AIRLOCK_TEST_STORE=postgres the copy names a database of its own already.)
      const db = await createTestDatabase();
      cleanups.push(() => db.drop());
      appendFileSync(path.join(ws.dir, 'airlock.yaml'), `\nstore: ${db.url}\n`);
    }
    await (await openAirlock(ws.dir)).close();
    // The same keys: it opens again.
    await (await openAirlock(ws.dir)).close();
    const before = await openWorkspaceStore(ws.dir);
    const head = await before.auditHead();
    const checkpoint = await before.latestCheckpoint();
    await before.close();
    for (const file of ['payloads.key', 'audit.key']) {
      const keyFile = path.join(ws.dir, '.airlock', file);
      const kept = readFileSync(keyFile);
      // Another instance's key (a copy of the workspace that made its own).
      writeFileSync(keyFile, randomBytes(32));
      const refused = await openAirlock(ws.dir).then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(AirlockError);
      expect((refused as AirlockError).code).toBe('config');
      expect((refused as AirlockError).isUserError).toBe(true);
      expect((refused as AirlockError).message).toContain(file);
      expect((refused as AirlockError).hint).toContain(`.airlock/${file}`);
      writeFileSync(keyFile, kept);
    }
    // Nothing was written while refusing; the store knows the keys by their fingerprints only.
    const store = await openWorkspaceStore(ws.dir);
    try {
      expect(await store.auditHead()).toEqual(head);
      expect(await store.latestCheckpoint()).toEqual(checkpoint);
      const payloadKey = readFileSync(path.join(ws.dir, '.airlock', 'payloads.key'));
      expect(await store.keyFingerprint('payload key', 'x'.repeat(64))).toBe(keyFingerprint('payload key', payloadKey));
      expect(keyFingerprint('payload key', payloadKey)).not.toContain(payloadKey.toString('hex'));
    } finally {
      await store.close();
    }
  });
});
