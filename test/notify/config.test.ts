// `notifications.webhooks` in airlock.yaml: defaults, and located errors for what would be unsafe or ambiguous.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadWorkspace } from '../../src/config/load.js';
import { copyExample, expectError, loadErrors, positionOf, type TempWorkspace } from '../config/helpers.js';

describe('notifications.webhooks config', () => {
  let ws: TempWorkspace;
  beforeEach(async () => {
    ws = await copyExample();
  });
  afterEach(async () => {
    await ws.remove();
  });
  const withHooks = async (yaml: string): Promise<string> => {
    const text = `${await ws.read('airlock.yaml')}\nnotifications:\n  webhooks:\n${yaml}`;
    await ws.write('airlock.yaml', text);
    return text;
  };

  it('defaults to no webhooks', async () => {
    expect((await loadWorkspace(ws.dir)).file.notifications).toEqual({ webhooks: [] });
  });

  it('fills in every event, 8 attempts and a 5 s timeout; plain http is fine on loopback', async () => {
    await withHooks(`    - name: approvals-channel
      url: https://hooks.example.com/airlock
      secretEnv: AIRLOCK_WEBHOOK_SECRET
    - { name: local, url: "http://127.0.0.1:9000/hook", secretEnv: LOCAL_SECRET, events: [approval.decided], maxAttempts: 3, timeoutMs: 1000 }
    - { name: local-six, url: "http://[::1]:9000/hook", secretEnv: LOCAL_SECRET }
    - { name: local-name, url: "http://localhost/hook", secretEnv: LOCAL_SECRET }
`);
    const hooks = (await loadWorkspace(ws.dir)).file.notifications.webhooks;
    expect(hooks[0]).toEqual({
      name: 'approvals-channel',
      url: 'https://hooks.example.com/airlock',
      secretEnv: 'AIRLOCK_WEBHOOK_SECRET',
      events: ['approval.requested', 'approval.decided', 'approval.expired', 'approval.escalated', 'approval.withdrawn'],
      maxAttempts: 8,
      timeoutMs: 5000,
    });
    expect(hooks[1]).toMatchObject({ events: ['approval.decided'], maxAttempts: 3, timeoutMs: 1000 });
    expect(hooks.map((h) => h.name)).toEqual(['approvals-channel', 'local', 'local-six', 'local-name']);
  });

  it('refuses plain http off loopback and a repeated name, saying where and what to do', async () => {
    const text = await withHooks(`    - { name: chat, url: "http://hooks.example.com/airlock", secretEnv: SECRET_A }
    - { name: chat, url: "https://other.example.com/", secretEnv: SECRET_B }
`);
    const file = path.join(ws.dir, 'airlock.yaml');
    const { errors } = await loadErrors(ws.dir);
    expectError(errors, {
      file,
      ...positionOf(text, '"http://hooks'),
      path: 'notifications.webhooks[0].url',
      message: 'webhook `chat` sends approvals over plain http to `hooks.example.com`',
      hint: 'use an `https://` URL',
    });
    expectError(errors, {
      file,
      ...positionOf(text, 'chat', 'SECRET_A'),
      path: 'notifications.webhooks[1].name',
      message: 'webhook name `chat` is used twice',
      hint: 'give each webhook its own `name`',
    });
    expect(errors).toHaveLength(2);
  });

  it('refuses an unknown event, a secret written into the file, and a bad variable name', async () => {
    await withHooks(`    - { name: chat, url: "https://hooks.example.com/", secretEnv: "not a name", events: [approval.approved], secret: hunter2 }
`);
    const { errors } = await loadErrors(ws.dir);
    expect(errors.map((e) => e.location?.path).sort()).toEqual([
      'notifications.webhooks[0].events[0]',
      'notifications.webhooks[0].secret',
      'notifications.webhooks[0].secretEnv',
    ]);
    const text = (p: string) => errors.find((e) => e.location?.path === p)?.message;
    expect(text('notifications.webhooks[0].secret')).toMatch(/unknown key `secret`/);
    expect(text('notifications.webhooks[0].events[0]')).toMatch(/approval\.requested/);
    expect(text('notifications.webhooks[0].secretEnv')).toMatch(/environment variable name/);
  });
});
