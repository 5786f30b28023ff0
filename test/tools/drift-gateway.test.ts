// The gateway denies a tool whose live upstream definition differs from the reviewed one, and audits it.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import { upstreamDefinitionHash } from '../../src/tools/import.js';
import type { RunId } from '../../src/types.js';
import { copyAcme } from '../helpers/workspace.js';

function review(dir: string, hash: string): void {
  const file = path.join(dir, 'airlock.yaml');
  const text = readFileSync(file, 'utf8');
  const marker = '  - name: orders.get_order\n';
  if (!text.includes(marker)) throw new Error('orders.get_order contract not found in the example');
  writeFileSync(file, text.replace(marker, `${marker}    reviewedUpstream: "${hash}"\n`));
}

describe('tool drift at the gateway', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  async function callGetOrder(dir: string) {
    const a = await openAirlock(dir);
    try {
      const workflow = a.workspace.workflows.get('refund-desk')!;
      const runId = 'run_drift' as RunId;
      const ctx = { runId, workflow, principal: a.principal('agent:refund-bot'), labels: { classification: 'public', trust: 'trusted' } as const, step: 0 };
      const out = await a.gateway.propose(ctx, { tool: 'orders.get_order', args: { order_id: '1182' } });
      return { out, records: await a.store.readAuditForRun(runId) };
    } finally {
      await a.close();
    }
  }

  it('executes when the live definition is the reviewed one', async () => {
    const ws = copyAcme();
    cleanup = ws.cleanup;
    const probe = await openAirlock(ws.dir);
    const live = (await probe.connectors.get('orders').listTools()).find((t) => t.name === 'get_order')!;
    await probe.close();
    review(ws.dir, upstreamDefinitionHash(live));
    const { out } = await callGetOrder(ws.dir);
    expect(out.kind).toBe('executed');
  });

  it('denies and audits a drifted tool, naming neither the upstream text nor executing it', async () => {
    const ws = copyAcme();
    cleanup = ws.cleanup;
    review(ws.dir, '0'.repeat(64));
    const { out, records } = await callGetOrder(ws.dir);
    expect(out.kind).toBe('denied');
    expect(out.kind === 'denied' && out.reasons.join(' ')).toMatch(/changed since|review/i);
    const refused = records.find((r) => r.type === 'action.not-executed');
    expect(refused?.body['why']).toBe('tool-drift');
    expect(records.some((r) => r.type === 'action.executed')).toBe(false);
  });
});
