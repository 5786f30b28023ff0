// The workflow's approval policy in YAML: escalation needs a next owner who is named, and must come
// before the final deadline; mistakes are reported where they are, with a hint.
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyExample, expectError, loadErrors, positionOf, type TempWorkspace } from '../config/helpers.js';

describe('workflow approvals config', () => {
  let ws: TempWorkspace;
  beforeEach(async () => {
    ws = await copyExample();
  });
  afterEach(async () => {
    await ws.remove();
  });

  it('refuses an escalation at or after the deadline, and an escalation with nobody to escalate to', async () => {
    await ws.edit('workflows/refund-desk.yaml', 'escalateAfterMinutes: 20', 'escalateAfterMinutes: 60');
    await ws.edit('workflows/refund-desk.yaml', 'escalateTo: [domain, product]', 'escalateTo: [domain]');
    const { errors } = await loadErrors(ws.dir);
    const file = path.join(ws.dir, 'workflows/refund-desk.yaml');
    const text = await ws.read('workflows/refund-desk.yaml');
    expectError(errors, { file, ...positionOf(text, '60', 'escalateAfterMinutes: '), path: 'approvals.escalateAfterMinutes', message: 'at or after the final deadline' });
    expectError(errors, { file, ...positionOf(text, '[domain]'), path: 'approvals.escalateTo', message: 'escalation needs a next owner' });
  });

  it('refuses escalation to an owner boundary the workflow does not name', async () => {
    await ws.edit('workflows/refund-desk.yaml', 'tier: execute-low', 'tier: assist');
    await ws.edit('workflows/refund-desk.yaml', '  product: maria@acme.example\n', '');
    const { errors } = await loadErrors(ws.dir);
    const text = await ws.read('workflows/refund-desk.yaml');
    expectError(errors, {
      file: path.join(ws.dir, 'workflows/refund-desk.yaml'),
      ...positionOf(text, 'product', 'escalateTo: [domain, '),
      path: 'approvals.escalateTo[1]',
      message: 'approvals escalate to the `product` owner, but `owners.product` is not named',
    });
  });
});
