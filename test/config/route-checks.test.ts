// Model routes in the workspace: fallbacks and routing rules name declared routes, `auto` is the
// workflow's word for "let the rules choose", and a route cannot fall back to itself.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../src/config/load.js';
import { copyExample, loadErrors, type TempWorkspace } from './helpers.js';

const MODELS = `models:
  playbook:
    kind: scripted
    playbook: playbooks/refund-desk.yaml`;

describe('model routes in the workspace', () => {
  let ws: TempWorkspace;
  beforeEach(async () => {
    ws = await copyExample();
  });
  afterEach(() => ws.remove());

  it('loads routing rules, fallbacks and clearances, with defaults', async () => {
    await ws.edit('airlock.yaml', MODELS, `${MODELS}
    fallback: [cloud]
  cloud:
    kind: openai-chat
    model: gpt-test
    baseUrl: http://127.0.0.1:9/v1
routing:
  - when: { classification: [confidential, restricted] }
    use: playbook
  - use: cloud`);
    await ws.edit('workflows/refund-desk.yaml', 'model: playbook', 'model: auto');
    const loaded = await loadWorkspace(ws.dir);
    expect(loaded.file.models['cloud']).toMatchObject({ clearance: 'internal', fallback: [], maxRetries: 2, timeoutMs: 60000 });
    expect(loaded.file.models['playbook']).toMatchObject({ clearance: 'restricted', fallback: ['cloud'] });
    expect(loaded.file.routing).toEqual([
      { when: { classification: ['confidential', 'restricted'] }, use: 'playbook' },
      { when: {}, use: 'cloud' },
    ]);
  });

  it('refuses routes that name what is not declared, fall back to themselves, or are called auto; and auto with no rules', async () => {
    await ws.edit('airlock.yaml', MODELS, `${MODELS}
    fallback: [playbook, nowhere]
  auto:
    kind: scripted
    playbook: playbooks/refund-desk.yaml
routing:
  - use: missing`);
    const { text } = await loadErrors(ws.dir);
    expect(text).toMatch(/route `playbook` falls back to itself/);
    expect(text).toMatch(/route `playbook` falls back to `nowhere`, which is not declared/);
    expect(text).toMatch(/`auto` cannot name a route/);
    expect(text).toMatch(/routing rule 1 uses route `missing`, which is not declared/);
  });

  it('refuses `model: auto` in a workspace with no routing rules', async () => {
    await ws.edit('workflows/refund-desk.yaml', 'model: playbook', 'model: auto');
    expect((await loadErrors(ws.dir)).text).toMatch(/`model: auto` lets the workspace's `routing` rules choose, but airlock.yaml declares none/);
  });
});
