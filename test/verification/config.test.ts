// CEL in the workspace: contract `verify.check` and workflow `checks`, compiled when the workspace loads, errors located in the YAML.
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../src/config/load.js';
import { copyExample, expectError, loadErrors, positionOf, type TempWorkspace } from '../config/helpers.js';

const REFUND_CHECK = "check: 'probe.refund_id == result.refund_id && probe.currency == args.currency'";
const WF = 'workflows/refund-desk.yaml';

let ws: TempWorkspace;
beforeEach(async () => {
  ws = await copyExample();
});
afterEach(async () => {
  await ws.remove();
});

const airlockFile = (): string => path.join(ws.dir, 'airlock.yaml');
const workflowFile = (): string => path.join(ws.dir, WF);

describe('the Acme example', () => {
  it('loads with a CEL verify check and four run checks', async () => {
    const loaded = await loadWorkspace(ws.dir);
    expect(loaded.tools.get('payments.refund')?.verify?.check).toBe('probe.refund_id == result.refund_id && probe.currency == args.currency');
    const wf = loaded.workflows.get('refund-desk')!;
    expect((wf.checks ?? []).map((c) => c.name)).toEqual(['ticket-resolved', 'refunds-exist-once', 'sent-mail-was-drafted', 'requested-refund-landed']);
    expect(wf.checks?.[0]).toEqual({ name: 'ticket-resolved', when: 'has(input.ticket_id)', probe: 'tickets.get_ticket', args: { ticket_id: 'input.ticket_id' }, expect: 'probe.status == "resolved"' });
    expect(wf.checks?.[2]?.args).toEqual({});
  });

  it('loads a workflow without checks, with none', async () => {
    const text = await ws.read(WF);
    await ws.write(WF, text.slice(0, text.indexOf('# Run-level checks')));
    expect((await loadWorkspace(ws.dir)).workflows.get('refund-desk')?.checks).toBeUndefined();
  });
});

describe('contract verify.check', () => {
  it('reports a syntax error at the check, with the column in the expression', async () => {
    await ws.edit('airlock.yaml', REFUND_CHECK, "check: 'probe.refund_id == result.refund_id &&'");
    const { errors } = await loadErrors(ws.dir);
    const text = await ws.read('airlock.yaml');
    expectError(errors, {
      file: airlockFile(),
      ...positionOf(text, "'probe.refund_id == result.refund_id &&'"),
      path: 'tools[6].verify.check',
      message: 'invalid CEL: syntax error near `&&` (at column 37 of the expression)',
      hint: /operand missing/,
    });
  });

  it('reports an unknown variable, naming the variables', async () => {
    await ws.edit('airlock.yaml', REFUND_CHECK, "check: 'prob.currency == args.currency'");
    const { errors } = await loadErrors(ws.dir);
    const text = await ws.read('airlock.yaml');
    expectError(errors, {
      file: airlockFile(),
      ...positionOf(text, "'prob.currency"),
      path: 'tools[6].verify.check',
      message: 'invalid CEL: unknown variable `prob` (at column 1 of the expression)',
      hint: 'the variables here are `args`, `result`, `probe`',
    });
  });

  it('reports a check that is not a bool', async () => {
    await ws.edit('airlock.yaml', REFUND_CHECK, "check: 'size(probe.refund_id)'");
    const { errors } = await loadErrors(ws.dir);
    expectError(errors, {
      file: airlockFile(),
      ...positionOf(await ws.read('airlock.yaml'), "'size(probe.refund_id)'"),
      path: 'tools[6].verify.check',
      message: 'invalid CEL: the expression gives an `int`, not a `bool`',
    });
  });

  it('reports `args.x` that names no argument of the tool', async () => {
    await ws.edit('airlock.yaml', REFUND_CHECK, "check: 'probe.currency == args.curency'");
    const { errors } = await loadErrors(ws.dir);
    expectError(errors, {
      file: airlockFile(),
      ...positionOf(await ws.read('airlock.yaml'), "'probe.currency == args.curency'"),
      path: 'tools[6].verify.check',
      message: '`args.curency` names no argument of this tool (at column 24 of the expression)',
      hint: '`args.currency`',
    });
  });

  it('needs `expect`, `check` or both', async () => {
    const text = await ws.read('airlock.yaml');
    const start = text.indexOf('      expect:\n        "$probe.amount_cents"');
    const end = text.indexOf('\n', text.indexOf(REFUND_CHECK)) + 1;
    await ws.write('airlock.yaml', text.slice(0, start) + text.slice(end));
    const { errors } = await loadErrors(ws.dir);
    expectError(errors, {
      file: airlockFile(),
      ...positionOf(await ws.read('airlock.yaml'), 'probe: payments.get_refund'),
      path: 'tools[6].verify',
      message: 'a verification needs `expect`, `check` or both',
      hint: /add `check:/,
    });
  });

  it('accepts a check without an expect map', async () => {
    const text = await ws.read('airlock.yaml');
    const start = text.indexOf('      expect:\n        "$probe.amount_cents"');
    const end = text.indexOf('      # CEL over `args`');
    await ws.write('airlock.yaml', text.slice(0, start) + text.slice(end));
    const loaded = await loadWorkspace(ws.dir);
    expect(loaded.tools.get('payments.refund')?.verify?.expect).toBeUndefined();
  });
});

describe('workflow checks', () => {
  it('reports a probe that is not declared', async () => {
    await ws.edit(WF, 'probe: tickets.get_ticket', 'probe: tickets.get_tickets');
    const { errors } = await loadErrors(ws.dir);
    expectError(errors, {
      file: workflowFile(),
      ...positionOf(await ws.read(WF), 'tickets.get_tickets'),
      path: 'checks[0].probe',
      message: 'check probe `tickets.get_tickets` is not declared',
    });
  });

  it('reports a probe that is not a read tool', async () => {
    await ws.edit(WF, 'probe: tickets.get_ticket', 'probe: tickets.set_status');
    const { errors } = await loadErrors(ws.dir);
    expectError(errors, {
      file: workflowFile(),
      ...positionOf(await ws.read(WF), 'tickets.set_status', 'probe:'),
      path: 'checks[0].probe',
      message: 'check probe `tickets.set_status` must be a read tool, found effect `write`',
    });
  });

  it("reports a probe that is not one of the workflow's tools", async () => {
    await ws.edit(WF, '  - payments.list_refunds\n', '');
    const { errors } = await loadErrors(ws.dir);
    // Two checks probe it; each is reported at its own node (this is the first).
    expect(errors.filter((e) => e.message.includes('is not one of this workflow')).map((e) => e.location?.path)).toEqual(['checks[1].probe', 'checks[3].probe']);
    expectError(errors.filter((e) => e.location?.path === 'checks[1].probe'), {
      file: workflowFile(),
      ...positionOf(await ws.read(WF), 'payments.list_refunds', 'probe:'),
      path: 'checks[1].probe',
      message: "check probe `payments.list_refunds` is not one of this workflow's tools",
      hint: 'add `payments.list_refunds` to `tools`',
    });
  });

  it('reports bad CEL in `when`, in a probe argument and in `expect`, each at its node', async () => {
    await ws.edit(WF, "args: { ticket_id: 'input.ticket_id' }", "args: { ticket_id: 'input.ticket_id +' }");
    await ws.edit(WF, "when: 'actions.exists(a, a.tool == \"payments.refund\" && a.ok)'", "when: 'actions.exists(a, a.tool == \"payments.refund\" && a.okk) && action.ok'");
    await ws.edit(WF, "expect: 'probe.status == \"resolved\"'", "expect: 'probe.status'");
    const { errors } = await loadErrors(ws.dir);
    const text = await ws.read(WF);
    expectError(errors, { file: workflowFile(), ...positionOf(text, "'input.ticket_id +'"), path: 'checks[0].args.ticket_id', message: /^invalid CEL: syntax error/ });
    expectError(errors, { file: workflowFile(), ...positionOf(text, "'actions.exists(a, a.tool == \"payments.refund\" && a.okk)"), path: 'checks[1].when', message: 'invalid CEL: unknown variable `action` (at column 60 of the expression)', hint: 'the variables here are `input`, `actions`' });
    expect(errors.filter((e) => e.location?.path === 'checks[0].expect')).toHaveLength(0); // `probe.status` is dyn: checked when it runs
  });

  it('reports `probe` in a check that has no probe, and a statically non-bool expect', async () => {
    await ws.edit(WF, `  - name: sent-mail-was-drafted
    when: 'actions.exists(a, a.tool == "mail.send" && a.ok)'`, `  - name: sent-mail-was-drafted
    when: 'size(actions)'
    expect: 'probe.status == "sent"'
  - name: other
    when: 'actions.exists(a, a.tool == "mail.send" && a.ok)'`);
    const { errors } = await loadErrors(ws.dir);
    const text = await ws.read(WF);
    expectError(errors, { file: workflowFile(), ...positionOf(text, "'size(actions)'"), path: 'checks[2].when', message: 'invalid CEL: the expression gives an `int`, not a `bool`' });
    expectError(errors, { file: workflowFile(), ...positionOf(text, '\'probe.status == "sent"\''), path: 'checks[2].expect', message: 'invalid CEL: unknown variable `probe` (at column 1 of the expression)' });
  });

  it('reports duplicate names, arguments without a probe, and arguments the probe does not take', async () => {
    await ws.edit(WF, 'name: sent-mail-was-drafted', 'name: ticket-resolved');
    await ws.edit(WF, "    when: 'actions.exists(a, a.tool == \"mail.send\" && a.ok)'", "    args: { x: '1' }\n    when: 'actions.exists(a, a.tool == \"mail.send\" && a.ok)'");
    await ws.edit(WF, "args: { ticket_id: 'input.ticket_id' }", "args: { ticket: 'input.ticket_id' }");
    const { errors } = await loadErrors(ws.dir);
    const text = await ws.read(WF);
    expectError(errors, { file: workflowFile(), ...positionOf(text, 'ticket-resolved', 'name: refunds-exist-once'), path: 'checks[2].name', message: 'duplicate check `ticket-resolved` (first is check 1)' });
    expectError(errors, { file: workflowFile(), ...positionOf(text, 'args', 'name: ticket-resolved\n    args: { x'), path: 'checks[2].args', message: 'probe arguments without a `probe`' });
    expectError(errors, { file: workflowFile(), ...positionOf(text, 'ticket:'), path: 'checks[0].args.ticket', message: '`tickets.get_ticket` has no argument `ticket`' });
    expectError(errors, { file: workflowFile(), ...positionOf(text, "{ ticket: 'input"), path: 'checks[0].args', message: 'missing required argument `ticket_id` for `tickets.get_ticket`', hint: 'a CEL expression like `input.ticket_id`' });
  });
});
