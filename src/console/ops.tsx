// Incidents (list, resolve with a note, through resolveIncident) and the audit trail (browse and filter
// records, its signed checkpoints and the key that checks them, `verify` as `airlock audit verify` does: the
// chain, the checkpoints and the file witnesses; the JSON Lines export ending with its signed checkpoints,
// verifiable offline), for people signed in to the console.
import { PassThrough, Readable } from 'node:stream';
import type { Hono } from 'hono';
import { exportJsonl } from '../audit/log.js';
import { checkpointedExport, trailReport, verifyTrail, witnessFileNotes } from '../audit/trail-check.js';
import { assignIncident, resolveIncident } from '../orchestration/incidents.js';
import type { AuditRecord, Store } from '../store/store.js';
import { field, type ConsoleContext, type ConsoleDeps, type ConsoleEnv } from './context.js';
import { Csrf, Json as JsonBlock, Notice, Page, Status, when } from './layout.js';
import { mountPolicyPage } from './policy.js';

/** Matches shown per page of the audit browser; records read per step back, and at most per page. */
const AUDIT_SHOWN = 100;
const AUDIT_CHUNK = 1000;
const AUDIT_SCAN = 10_000;
/** Incidents shown under "All", newest first. */
const INCIDENTS_SHOWN = 200;
/** Signed checkpoints listed on the audit page, newest first. */
const CHECKPOINTS_SHOWN = 10;

/**
 * Walks the trail back from `before` (exclusive), a chunk at a time, until a page of matches or the
 * scan budget: the matches newest first, and where the next page starts (null at the first record).
 */
async function scanBack(store: Store, before: number, wanted: (r: AuditRecord) => boolean): Promise<{ matches: AuditRecord[]; next: number | null }> {
  const matches: AuditRecord[] = [];
  let end = before;
  while (end > 1 && before - end < AUDIT_SCAN) {
    const from = Math.max(1, end - AUDIT_CHUNK);
    const chunk = await store.readAudit(from, end - from);
    for (let i = chunk.length - 1; i >= 0; i--) {
      const r = chunk[i] as AuditRecord;
      if (!wanted(r)) continue;
      matches.push(r);
      // A full page: the next one starts just below this match, so nothing between is skipped.
      if (matches.length === AUDIT_SHOWN) return { matches, next: r.seq > 1 ? r.seq : null };
    }
    end = from;
  }
  return { matches, next: end > 1 ? end : null };
}

/** Adds `/incidents`, `/incidents/:id/resolve`, `/audit`, `/audit/verify`, `/audit/export`, and the policy simulator. */
export function mountOpsPages(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  const { airlock } = deps;

  const incidentsPage = async (c: ConsoleContext, notice?: { kind: 'ok' | 'error'; text: string }, status: 200 | 403 | 404 | 409 | 422 = 200) => {
    const ctx = c.get('page');
    const all = c.req.query('show') === 'all';
    // Open ones stay until a person resolves them; all of them pile up: the newest 200 are shown.
    const list = all ? await airlock.store.pageIncidents({ limit: INCIDENTS_SHOWN }) : [...(await airlock.store.listIncidents({ status: 'open' }))].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const people = airlock.workspace.file.identity.principals.filter((p) => p.kind === 'user').map((p) => `user:${p.id}`);
    return c.html(
      <Page ctx={ctx} title="Incidents" active="incidents">
        {notice ? <Notice kind={notice.kind}>{notice.text}</Notice> : null}
        <p class="tabs">
          <a href={`${ctx.base}/incidents`} class={all ? '' : 'active'}>Open</a>
          <a href={`${ctx.base}/incidents?show=all`} class={all ? 'active' : ''}>All</a>
        </p>
        {list.length === 0 ? <p class="muted">no incidents</p> : null}
        {list.map((i) => (
          <section class="card" id={`incident-${i.id}`}>
            <h2>
              {i.title} <Status value={i.status} />
            </h2>
            <dl class="facts">
              <dt>incident</dt>
              <dd class="mono">{i.id} · {i.kind}</dd>
              <dt>run</dt>
              <dd>
                <a href={`${ctx.base}/runs/${i.runId}`}>{i.runId}</a>
              </dd>
              <dt>routed to</dt>
              <dd>{i.owner ?? '(nobody named)'} · {i.boundary} owner</dd>
              <dt>assigned to</dt>
              <dd class="assignee">{i.assignee ? `${i.assignee} (${when(i.assignedAt ?? null)})` : 'nobody yet'}</dd>
              <dt>opened</dt>
              <dd>{when(i.createdAt)}</dd>
              {i.resolvedBy ? (
                <>
                  <dt>resolved</dt>
                  <dd>{when(i.resolvedAt)} by {i.resolvedBy}: {i.resolution ?? ''}</dd>
                </>
              ) : null}
            </dl>
            <details>
              <summary>evidence</summary>
              <JsonBlock value={i.evidence} />
            </details>
            {i.status === 'open' ? (
              <form method="post" action={`${ctx.base}/incidents/${i.id}/assign`} class="inline">
                <Csrf ctx={ctx} />
                <label>
                  Assign to{' '}
                  <select name="to">
                    {people.map((p) => (
                      <option value={p} selected={p === (i.assignee ?? ctx.principal)}>{p}</option>
                    ))}
                  </select>
                </label>{' '}
                <button type="submit">Assign</button>
              </form>
            ) : null}
            {i.status === 'open' ? (
              <form method="post" action={`${ctx.base}/incidents/${i.id}/resolve`}>
                <Csrf ctx={ctx} />
                <label>
                  What was done about it
                  <textarea name="note" rows={2} maxlength={2000} required></textarea>
                </label>
                <button type="submit">Resolve</button>
              </form>
            ) : null}
          </section>
        ))}
      </Page>,
      status,
    );
  };

  app.get('/incidents', (c) => incidentsPage(c));
  app.post('/incidents/:id/assign', async (c) => {
    const id = c.req.param('id');
    if (!(await airlock.store.getIncident(id))) return incidentsPage(c, { kind: 'error', text: `incident \`${id.slice(0, 100)}\` does not exist` }, 404);
    // The CLI's path (`airlock incidents assign ID --to USER --as USER`): people only, to people, audited.
    const res = await assignIncident(airlock, id, c.get('principal'), field(c, 'to'));
    if (res.kind === 'refused') return incidentsPage(c, { kind: 'error', text: `refused: ${res.reason}` }, res.status);
    return incidentsPage(c, { kind: 'ok', text: `incident ${id} assigned to ${res.incident.assignee ?? '?'}` });
  });
  app.post('/incidents/:id/resolve', async (c) => {
    const id = c.req.param('id');
    if (!(await airlock.store.getIncident(id))) return incidentsPage(c, { kind: 'error', text: `incident \`${id.slice(0, 100)}\` does not exist` }, 404);
    // The CLI's path (`airlock incidents resolve ID --as USER --note ...`): people only, a note required, audited.
    const res = await resolveIncident(airlock, id, c.get('principal'), field(c, 'note'));
    if (res.kind === 'refused') return incidentsPage(c, { kind: 'error', text: `refused: ${res.reason}` }, res.status);
    return incidentsPage(c, { kind: 'ok', text: `incident ${id} resolved` });
  });

  app.get('/audit', async (c) => {
    const ctx = c.get('page');
    const q = { type: c.req.query('type') ?? '', run: c.req.query('run') ?? '', principal: c.req.query('principal') ?? '', before: Number(c.req.query('before') ?? '') };
    const head = await airlock.store.auditHead();
    const checkpoints = await airlock.store.listCheckpoints({ limit: CHECKPOINTS_SHOWN });
    const witnesses = airlock.workspace.file.audit.witnesses.map((w) => ('file' in w ? `file ${w.file}` : `webhook ${w.url}`));
    const wanted = (r: AuditRecord) => (!q.type || r.type === q.type || r.type.startsWith(`${q.type}.`)) && (!q.principal || r.principal === q.principal || r.onBehalfOf === q.principal);
    let matches: AuditRecord[];
    let older: number | null = null;
    if (q.run) {
      matches = (await airlock.store.readAuditForRun(q.run)).filter(wanted).reverse().slice(0, AUDIT_SHOWN);
    } else {
      const start = Number.isInteger(q.before) && q.before > 0 ? Math.min(q.before, (head?.seq ?? 0) + 1) : (head?.seq ?? 0) + 1;
      const found = await scanBack(airlock.store, start, wanted);
      matches = found.matches;
      older = found.next;
    }
    return c.html(
      <Page ctx={ctx} title="Audit trail" active="audit">
        <section class="card">
          <p>
            Head: <span class="mono">#{head?.seq ?? 0} {head?.chainHash ?? '(empty)'}</span>
          </p>
          <form method="post" action={`${ctx.base}/audit/verify`} class="inline">
            <Csrf ctx={ctx} />
            <button type="submit">Verify the whole chain</button>
          </form>{' '}
          <a href={`${ctx.base}/audit/export`} download="airlock-audit.jsonl">Export (JSON Lines with its signed checkpoints, verifiable offline)</a>
        </section>
        <section class="card" id="checkpoints">
          <h2>Signed checkpoints</h2>
          <p>
            Verifier key (what <span class="mono">airlock audit verify --export FILE --key KEY</span> takes):{' '}
            <span class="mono">{airlock.checkpoints.verifier.text}</span>
          </p>
          <p>Witnesses: {witnesses.length > 0 ? witnesses.join(', ') : 'none (without one, an operator holding the key could cut the trail back or fork it unseen)'}</p>
          {checkpoints.length === 0 ? (
            <p class="muted">no signed checkpoint yet</p>
          ) : (
            <table class="list">
              <thead>
                <tr>
                  <th>records</th>
                  <th>made</th>
                  <th>tree head</th>
                </tr>
              </thead>
              <tbody>
                {checkpoints.map((k) => (
                  <tr>
                    <td class="mono">{k.size}</td>
                    <td>{when(k.time)}</td>
                    <td class="mono clip">{k.rootHash}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <form method="get" action={`${ctx.base}/audit`} class="filters">
          <label>
            type <input name="type" value={q.type} placeholder="approval or approval.decided" />
          </label>
          <label>
            run <input name="run" value={q.run} placeholder="run_..." />
          </label>
          <label>
            principal <input name="principal" value={q.principal} placeholder="user:dana" />
          </label>
          <button type="submit">Filter</button>
        </form>
        <table class="list" id="audit">
          <thead>
            <tr>
              <th>seq</th>
              <th>time</th>
              <th>type</th>
              <th>run</th>
              <th>principal</th>
              <th>body</th>
            </tr>
          </thead>
          <tbody>
            {matches.map((r) => (
              <tr>
                <td class="mono">{r.seq}</td>
                <td>{when(r.time)}</td>
                <td>{r.type}</td>
                <td>{r.runId ? <a href={`${ctx.base}/runs/${r.runId}`}>{r.runId}</a> : '—'}</td>
                <td>{r.principal ?? '—'}</td>
                <td class="mono clip">{JSON.stringify(r.body).slice(0, 300)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {matches.length === 0 ? <p class="muted">{older ? `no records match among the ${AUDIT_SCAN.toLocaleString('en-US')} read; older ones may` : 'no records match'}</p> : null}
        {older ? (
          <p>
            <a href={`${ctx.base}/audit?before=${older}${q.type ? `&type=${encodeURIComponent(q.type)}` : ''}${q.principal ? `&principal=${encodeURIComponent(q.principal)}` : ''}`}>Older records</a>
          </p>
        ) : null}
      </Page>,
    );
  });

  // A POST (it reads the whole trail): one click, never a crawler's prefetch. What `airlock audit verify` checks and says.
  app.post('/audit/verify', async (c) => {
    const files = await witnessFileNotes(airlock.workspace.dir, airlock.workspace.file.audit.witnesses);
    const report = trailReport(await verifyTrail(airlock.store, airlock.checkpoints.verifier, files.notes, files.missing));
    const ctx = c.get('page');
    return c.html(
      <Page ctx={ctx} title="Audit verification" active="audit">
        {report.lines.map((l) => (
          <Notice kind={l.kind === 'ok' ? 'ok' : l.kind === 'warn' ? 'info' : 'error'}>{l.text}</Notice>
        ))}
        <p>
          <a href={`${ctx.base}/audit`}>Back to the audit trail</a>
        </p>
      </Page>,
      report.ok ? 200 : 409,
    );
  });

  app.get('/audit/export', async (_c) => {
    // As `airlock audit export`: a checkpoint made now, and the signed checkpoints after the records.
    const opts = await checkpointedExport(airlock.store, airlock.checkpoints);
    const pass = new PassThrough();
    exportJsonl(airlock.store, pass, opts).then(
      () => pass.end(),
      (err: unknown) => pass.destroy(err instanceof Error ? err : new Error(String(err))),
    );
    return new Response(Readable.toWeb(pass) as ReadableStream, {
      headers: { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Content-Disposition': 'attachment; filename="airlock-audit.jsonl"' },
    });
  });

  mountPolicyPage(app, deps);
}
