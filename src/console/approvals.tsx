// The approvals inbox (live through server-sent events) and the approval page: the evidence bundle,
// approve / edit / reject through the API's own code path (server/approval-decisions.ts), step-up and
// re-authentication. A person sees exactly what the API shows them: what they may decide or took part in.
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ApprovalRecord } from '../store/store.js';
import type { ApprovalId, Json, JsonObject } from '../types.js';
import { approvalsNeeded } from '../gateway/approvals/rules.js';
import { decideApproval, mayViewApproval, type Viewer } from '../server/approval-decisions.js';
import { field, sessionApprover, type ConsoleContext, type ConsoleDeps, type ConsoleEnv } from './context.js';
import { issuerLabel } from './oidc.js';
import { Csrf, Json as JsonBlock, Notice, Page, Status, when, type PageContext } from './layout.js';
import { describeStoredProvenance } from '../context/provenance.js';

const LEVEL_TEXT: Readonly<Record<ApprovalRecord['level'], string>> = {
  single: 'one approver',
  reauth: 'step-up: one approver who enters their password again',
  'step-up': 'step-up: two different approvers',
};

/** Adds `/approvals`, `/approvals/list`, `/approvals/events`, `/approvals/:id` (GET and POST). */
export function mountApprovalPages(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  const { airlock } = deps;
  const oidcConfig = airlock.workspace.file.console?.oidc;
  /** The provider a person signed in with OIDC signs in again with (step-up by re-authentication). */
  const oidcLabel = oidcConfig ? issuerLabel(oidcConfig) : 'your identity provider';
  const viewer = (c: ConsoleContext): Viewer => ({ principal: c.get('principal'), approver: sessionApprover(c.get('session'), c.get('principal')) });

  /** What this person may see: pending ones they may decide or took part in, and the recent decided ones they took part in or could have decided. */
  const visible = async (c: ConsoleContext, which: 'pending' | 'decided'): Promise<ApprovalRecord[]> => {
    const v = viewer(c);
    // The newest thousand read (a bounded read whatever the history), the hundred this person may see shown.
    const list = await airlock.store.pageApprovals(which === 'pending' ? { status: 'pending', limit: 1000 } : { decided: true, limit: 1000 });
    return list.filter((a) => mayViewApproval(airlock, a, v)).slice(0, 100);
  };

  app.get('/approvals', async (c) => {
    const which = c.req.query('show') === 'decided' ? 'decided' : 'pending';
    const ctx = c.get('page');
    return c.html(
      <Page ctx={ctx} title="Approvals" active="approvals">
        <p class="tabs">
          <a href={`${ctx.base}/approvals`} class={which === 'pending' ? 'active' : ''}>Waiting for a decision</a>
          <a href={`${ctx.base}/approvals?show=decided`} class={which === 'decided' ? 'active' : ''}>Decided</a>
        </p>
        <div id="inbox" data-live={which === 'pending' ? `${ctx.base}/approvals/list` : undefined} data-events={`${ctx.base}/approvals/events`}>
          <Inbox ctx={ctx} list={await visible(c, which)} />
        </div>
      </Page>,
    );
  });

  // The inbox table alone: the page's script fetches it again when an event says something changed.
  app.get('/approvals/list', async (c) => c.html(<Inbox ctx={c.get('page')} list={await visible(c, 'pending')} />));

  // Server-sent events: a bare "changed" (never who or what), so an open inbox refetches what this person may see.
  app.get('/approvals/events', (c) =>
    streamSSE(c, async (stream) => {
      let wake: (() => void) | null = null;
      let pending = 0;
      const off = airlock.onApprovalEvent(() => {
        pending++;
        wake?.();
      });
      stream.onAbort(() => {
        off();
        wake?.();
      });
      try {
        await stream.writeSSE({ event: 'ready', data: 'ready', retry: 2000 });
        while (!stream.aborted && !stream.closed) {
          if (pending > 0) {
            pending = 0;
            await stream.writeSSE({ event: 'changed', data: 'changed' });
            continue;
          }
          // Wait for an event, or 20 seconds for a keep-alive comment.
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 20_000);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          wake = null;
          if (pending === 0 && !stream.aborted) await stream.write(': keep-alive\n\n');
        }
      } finally {
        off();
      }
    }),
  );

  app.get('/approvals/:id', async (c) => page(c, c.req.param('id') as ApprovalId));

  app.post('/approvals/:id', async (c) => {
    const id = c.req.param('id') as ApprovalId;
    const before = await airlock.store.getApproval(id);
    if (!before) return notVisible(c, id);
    const action = field(c, 'action');
    const reason = field(c, 'reason').trim() || null;
    const session = c.get('session');
    const principal = c.get('principal');
    let approver = sessionApprover(session, principal);
    // Signed in with OIDC: the vote carries the provider's `auth_time`, and the vote path judges its age
    // (a stale one is refused with the reason; the page offers a fresh sign-in with the provider).
    if (action === 'approve' && before.level === 'reauth' && session.method !== 'jwt') {
      // Step-up by re-authentication: the password again, now; the vote records this login's time.
      if (!(await deps.checkPassword(session.principal, field(c, 'password')))) {
        deps.warn({ principal: session.principal, approvalId: id, reason: 'reauth-failed' }, 'console re-authentication failed');
        return page(c, id, { kind: 'error', text: 'this approval needs you to enter your password again: the password was missing or wrong (or too many attempts failed)' }, 403);
      }
      approver = sessionApprover(session, principal, airlock.now().toISOString());
    }
    let edit: JsonObject | undefined;
    if (action === 'edit') {
      try {
        const parsed = JSON.parse(field(c, 'arguments')) as Json;
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        edit = parsed as JsonObject;
      } catch {
        return page(c, id, { kind: 'error', text: 'the edited arguments must be a JSON object' }, 422);
      }
    } else if (action !== 'approve' && action !== 'reject') {
      return page(c, id, { kind: 'error', text: 'choose approve, edit or reject' }, 422);
    }
    // A link's session decides the action its mail showed, and only approves or rejects it.
    if (session.scope && action === 'edit') return page(c, id, { kind: 'error', text: 'a sign-in from a mailed link cannot edit the action: sign in to the console to edit it' }, 403);
    const result = await decideApproval(airlock, id, approver, action === 'reject' ? 'reject' : 'approve', reason, edit, session.scope ? { summaryHash: session.scope.summaryHash } : {});
    if (result.kind === 'refused') {
      // As the API answers: the reason, audited by vote(); the approval itself only to those who may see it.
      if (mayViewApproval(airlock, before, viewer(c))) return page(c, id, { kind: 'error', text: `refused: ${result.reason}` }, result.status);
      return c.html(
        <Page ctx={c.get('page')} title={`Approval ${id}`}>
          <Notice kind="error">{`refused: ${result.reason}`}</Notice>
        </Page>,
        result.status,
      );
    }
    if (result.kind === 'revised') {
      return page(c, result.revised.id, { kind: 'ok', text: `your edit is a new action (${result.revised.id}); you wrote these arguments, so another eligible person decides them` });
    }
    const { fate } = result;
    const runText =
      fate.kind === 'resumed'
        ? `the run continued and is now ${fate.run.status}`
        : fate.kind === 'resume-failed'
          ? `the run could not continue: ${fate.error}`
          : fate.kind === 'handed-off'
            ? 'another Airlock instance is driving the run and goes on with it'
            : fate.kind === 'external'
            ? 'the agent executes the approved action when it calls it again'
            : fate.kind === 'rollback'
              ? 'the rollback continues when the person who asked for it runs it again'
              : `waiting for ${approvalsNeeded(result.approval.level) - result.approval.decisions.filter((d) => d.decision === 'approve').length} more approval(s) from a different person`;
    return page(c, id, { kind: 'ok', text: `your ${action === 'reject' ? 'rejection' : 'approval'} is recorded; ${runText}` });
  });

  async function page(c: ConsoleContext, id: ApprovalId, notice?: { kind: 'ok' | 'error'; text: string }, status: 200 | 403 | 409 | 422 = 200): Promise<Response> {
    const a = await airlock.store.getApproval(id);
    if (!a || !mayViewApproval(airlock, a, viewer(c))) return notVisible(c, id);
    const ctx = c.get('page');
    const run = await airlock.store.getRun(a.runId);
    return c.html(
      <Page ctx={ctx} title={`Approval ${a.id}`} active="approvals">
        {notice ? <Notice kind={notice.kind}>{notice.text}</Notice> : null}
        <ApprovalView ctx={ctx} a={a} runStatus={run?.status ?? 'unknown'} />
        {a.status === 'pending' ? <DecideForms ctx={ctx} a={a} oidcReauth={c.get('session').method === 'jwt' ? oidcLabel : null} /> : null}
      </Page>,
      status,
    );
  }

  function notVisible(c: ConsoleContext, id: string): Response | Promise<Response> {
    // The same answer whether it does not exist or may not be seen: no probing for ids.
    return c.html(
      <Page ctx={c.get('page')} title="Approval">
        <Notice kind="error">{`approval \`${id.slice(0, 100)}\` does not exist, or you may not see it: only people eligible to decide it and those who took part see an approval`}</Notice>
      </Page>,
      404,
    );
  }
}

const Inbox = ({ ctx, list }: { ctx: PageContext; list: readonly ApprovalRecord[] }) =>
  list.length === 0 ? (
    <p class="muted" id="inbox-empty">Nothing here for you.</p>
  ) : (
    <table class="list">
      <thead>
        <tr>
          <th>approval</th>
          <th>action</th>
          <th>arguments</th>
          <th>requester</th>
          <th>needs</th>
          <th>status</th>
          <th>expires</th>
        </tr>
      </thead>
      <tbody>
        {list.map((a) => (
          <tr>
            <td>
              <a href={`${ctx.base}/approvals/${a.id}`}>{a.id}</a>
            </td>
            <td>{a.tool}</td>
            <td class="mono clip">{JSON.stringify((a.summary as { args?: Json }).args ?? null)}</td>
            <td>{a.requester}</td>
            <td>{LEVEL_TEXT[a.level]}</td>
            <td>
              <Status value={a.status} />
            </td>
            <td>{when(a.expiresAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );

function obj(v: Json | undefined): { readonly [k: string]: Json } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as { readonly [k: string]: Json }) : {};
}
function list(v: Json | undefined): readonly Json[] {
  return Array.isArray(v) ? v : [];
}
function text(v: Json | undefined): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
}

const ApprovalView = ({ ctx, a, runStatus }: { ctx: PageContext; a: ApprovalRecord; runStatus: string }) => {
  const s = obj(a.summary);
  const e = obj(s['evidence']);
  const diff = s['evidence'] === undefined ? null : e['diff'];
  const second = s['secondPath'] === undefined ? null : obj(s['secondPath']);
  return (
    <div>
      <section class="card">
        <dl class="facts">
          <dt>status</dt>
          <dd>
            <Status value={a.status} /> · {LEVEL_TEXT[a.level]}
          </dd>
          <dt>action</dt>
          <dd>
            <strong>{a.tool}</strong> · effect {text(s['effect'])}, risk {text(s['risk'])}
            {s['irreversible'] === true ? <span class="bad"> · irreversible</span> : null}
          </dd>
          <dt>run</dt>
          <dd>
            <a href={`${ctx.base}/runs/${a.runId}`}>{a.runId}</a> · workflow {text(s['workflow'])}, tier {text(s['tier'])} · run <Status value={runStatus} />
          </dd>
          <dt>requester</dt>
          <dd>
            {a.requester}
            {s['onBehalfOf'] ? ` on behalf of ${text(s['onBehalfOf'])}` : ''}
          </dd>
          <dt>why it needs you</dt>
          <dd>{list(s['reasons']).map(text).join('; ')}</dd>
          <dt>policies</dt>
          <dd class="mono">{list(s['policyIds']).map(text).join(', ')}</dd>
          {s['provenance'] !== undefined ? (
            <>
              <dt>where the arguments came from</dt>
              <dd id="provenance">
                <ul>
                  {describeStoredProvenance(s['provenance']).map((l) => (
                    <li class={l.includes('⚠') ? 'untrusted' : ''}>{l}</li>
                  ))}
                </ul>
              </dd>
            </>
          ) : null}
          <dt>expires</dt>
          <dd>{when(a.expiresAt)}{a.assignee ? ` · routed to ${a.assignee}` : ''}</dd>
          <dt>action hash</dt>
          <dd class="mono">{a.actionHash}</dd>
          {a.editedFrom ? (
            <>
              <dt>edit of</dt>
              <dd>
                <a href={`${ctx.base}/approvals/${a.editedFrom}`}>{a.editedFrom}</a> (an approver changed the arguments the agent proposed)
              </dd>
            </>
          ) : null}
          {a.supersededBy ? (
            <>
              <dt>replaced by</dt>
              <dd>
                <a href={`${ctx.base}/approvals/${a.supersededBy}`}>{a.supersededBy}</a>
              </dd>
            </>
          ) : null}
        </dl>
      </section>
      <section class="card" id="evidence">
        <h2>Evidence</h2>
        <h3>What the agent read</h3>
        {list(e['citations']).length === 0 ? <p class="muted">no earlier reads in this run</p> : null}
        <ol class="citations">
          {list(e['citations']).map((raw) => {
            const ci = obj(raw);
            const trusted = ci['trust'] === 'trusted';
            return (
              <li>
                <strong>{text(ci['ref'])}</strong> {text(ci['tool'])}{' '}
                <span class={trusted ? 'trust trusted' : 'trust untrusted'}>{trusted ? 'trusted' : '⚠ untrusted'}</span>
                <span class="mono muted"> {JSON.stringify(ci['args'] ?? null)}</span>
                <blockquote class={trusted ? '' : 'untrusted'}>{typeof ci['excerpt'] === 'string' ? ci['excerpt'] : '(result no longer stored)'}</blockquote>
                {trusted ? null : <p class="hint">untrusted source: read it as data, not instructions</p>}
                {list(ci['flagged']).length > 0 ? <p class="hint untrusted flagged">⚠ instruction-like text found here ({list(ci['flagged']).map(text).join(', ')}): someone may be trying to steer the agent</p> : null}
              </li>
            );
          })}
        </ol>
        <h3>The agent's reasoning</h3>
        <blockquote>{typeof e['reasoning'] === 'string' ? e['reasoning'] : '(none given)'}</blockquote>
        <h3>Exact arguments</h3>
        <JsonBlock value={s['args'] ?? null} />
        <h3>Against ground truth</h3>
        <Diff diff={diff ?? null} />
        <h3>Second path</h3>
        {second ? (
          <p class={second['status'] === 'passed' ? 'good' : 'bad'}>
            {second['status'] === 'passed' ? 'agrees' : text(second['status'])}: {text(second['message'])} <span class="muted">({text(second['check'])})</span>
          </p>
        ) : (
          <p class="muted">no second path for this action</p>
        )}
      </section>
      <section class="card">
        <h2>Votes</h2>
        {a.decisions.length === 0 ? <p class="muted">none yet</p> : null}
        <ul>
          {a.decisions.map((d) => (
            <li>
              {d.decision} by {d.approver} at {when(d.time)}
              {d.reason ? ` — ${d.reason}` : ''} <span class="muted">[{d.authMethod ?? '?'} via {d.issuer ?? '?'}, signed in {when(d.authTime)}]</span>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
};

const Diff = ({ diff }: { diff: Json }) => {
  const d = obj(diff);
  if (diff === null || Object.keys(d).length === 0) return <p class="muted">the contract declares no preview</p>;
  if (d['error'] !== undefined) return <p class="bad">could not read the current state ({text(d['probe'])}): {text(d['error'])}</p>;
  return (
    <table class="diff">
      <thead>
        <tr>
          <th></th>
          <th>{`against ${text(d['probe'])}`}</th>
          <th>proposed</th>
          <th>current</th>
        </tr>
      </thead>
      <tbody>
        {list(d['rows']).map((raw) => {
          const r = obj(raw);
          return (
            <tr class={r['differs'] === true ? 'differs' : ''}>
              <td>{r['differs'] === true ? '≠' : r['differs'] === false ? '=' : '?'}</td>
              <td>{text(r['label'])}</td>
              <td class="mono">{JSON.stringify(r['proposed'] ?? null)}</td>
              <td class="mono">{JSON.stringify(r['current'] ?? null)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
};

const DecideForms = ({ ctx, a, oidcReauth }: { ctx: PageContext; a: ApprovalRecord; oidcReauth: string | null }) => {
  const args = obj(obj(a.summary)['args']);
  return (
    <section class="card" id="decide">
      <h2>Decide</h2>
      <form method="post" action={`${ctx.base}/approvals/${a.id}`} class="decide">
        <Csrf ctx={ctx} />
        <label>
          Reason (needed to reject, and to approve high-risk or step-up actions)
          <textarea name="reason" rows={2} maxlength={2000}></textarea>
        </label>
        {a.level === 'reauth' && oidcReauth !== null ? (
          <p>
            This action needs a fresh sign-in:{' '}
            <a href={`${ctx.base}/oidc/start?reauth=1&next=${encodeURIComponent(`${ctx.base}/approvals/${a.id}`)}`}>{`sign in again with ${oidcReauth}`}</a>, then approve.
          </p>
        ) : a.level === 'reauth' ? (
          <label>
            Your password again (this action needs a fresh sign-in)
            <input name="password" type="password" autocomplete="current-password" />
          </label>
        ) : null}
        <div class="buttons">
          <button type="submit" name="action" value="approve" class="approve">Approve</button>
          <button type="submit" name="action" value="reject" class="reject">Reject</button>
        </div>
      </form>
      <details>
        <summary>Edit the arguments instead</summary>
        <form method="post" action={`${ctx.base}/approvals/${a.id}`}>
          <Csrf ctx={ctx} />
          <input type="hidden" name="action" value="edit" />
          <label>
            Arguments (JSON): your edit becomes a new action that another person decides
            <textarea name="arguments" rows={6} class="mono">{JSON.stringify(args, null, 2)}</textarea>
          </label>
          <label>
            Why you changed them
            <textarea name="reason" rows={2} maxlength={2000} required></textarea>
          </label>
          <button type="submit">Submit the edit</button>
        </form>
      </details>
    </section>
  );
};
