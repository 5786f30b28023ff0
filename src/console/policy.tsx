// The policy simulator: a principal, a tool and arguments in; the decision and the policies that
// produced it out, through `simulateDecision` (the path of `airlock policy explain`). And what-if: a
// draft policy set replayed over the last N recorded proposals, through `whatIf` (the path of
// `airlock policy what-if`). Nothing is recorded.
import type { Hono } from 'hono';
import { simulateDecision, type Simulation } from '../gateway/simulate.js';
import { compileDraft, label, parseLast, whatIf, WHAT_IF_LIMITS, type WhatIfReport } from '../gateway/what-if.js';
import { AirlockError, AirlockErrors, formatError } from '../errors.js';
import type { Json, JsonObject } from '../types.js';
import { field, type ConsoleContext, type ConsoleDeps, type ConsoleEnv } from './context.js';
import { Csrf, Notice, Page, Status } from './layout.js';

/** The file name a draft typed into the console gets in its error messages and default policy ids. */
export const DRAFT_FILE = 'draft.cedar';
/** The most rows of one kind (changed, not replayable) the page lists; the counts cover them all. */
const ROWS_SHOWN = 500;
/** A what-if run from the console stops reading the trail after this long (ms), and says so. */
const CONSOLE_BUDGET_MS = 10_000;

/** What the what-if form shows: its fields and, after a run, the report or why it could not run. */
interface WhatIfView {
  readonly draft: string;
  readonly last: string;
  readonly report?: WhatIfReport;
  readonly errors?: readonly string[];
}

/** Adds `/policy` (GET: the forms; with `tool` set, also the decision) and `POST /policy/what-if` (a draft replayed). */
export function mountPolicyPage(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  const { airlock } = deps;
  // The form starts from the current policy set, so a person edits rather than retypes it.
  const currentText = () => airlock.workspace.policySources.map((s) => `// ${s.file}\n${s.text.trimEnd()}\n`).join('\n');
  // A GET: simulating changes nothing, so the form needs no CSRF token and its result can be linked.
  app.get('/policy', (c) => page(c, { draft: currentText(), last: String(WHAT_IF_LIMITS.defaultLast) }));
  // A POST for the draft's size (a whole policy set); it reads the trail and records nothing.
  app.post('/policy/what-if', async (c) => {
    const view = { draft: field(c, 'draft'), last: field(c, 'last') };
    try {
      const last = parseLast(view.last.trim());
      const draft = compileDraft(airlock.workspace, [{ file: DRAFT_FILE, text: view.draft }]);
      const report = await whatIf(airlock, draft, { last, budgetMs: CONSOLE_BUDGET_MS });
      return page(c, { ...view, report });
    } catch (e) {
      if (!(e instanceof AirlockError) || !e.isUserError) throw e;
      const errors = e instanceof AirlockErrors ? e.errors.map((x) => formatError(x)) : [formatError(e)];
      return page(c, { ...view, errors: errors.map((x) => x.replace(/\u001b\[[0-9;]*m/g, '')) }, 400);
    }
  });

  function page(c: ConsoleContext, what: WhatIfView, status: 400 | 200 = 200) {
    const ctx = c.get('page');
    const q = {
      as: c.req.query('as') ?? 'agent:' + (airlock.workspace.file.identity.principals.find((p) => p.kind === 'agent')?.id ?? ''),
      tool: c.req.query('tool') ?? '',
      args: c.req.query('args') ?? '{}',
      workflow: c.req.query('workflow') ?? '',
      tier: c.req.query('tier') ?? '',
      classification: c.req.query('classification') ?? 'internal',
      trust: c.req.query('trust') ?? 'trusted',
    };
    let result: Simulation | null = null;
    if (q.tool) {
      let args: Json;
      try {
        args = JSON.parse(q.args) as Json;
      } catch {
        args = null;
      }
      result =
        args === null || typeof args !== 'object' || Array.isArray(args)
          ? { ok: false, error: 'the arguments must be a JSON object' }
          : simulateDecision(airlock.workspace, airlock.policies, { ...q, args: args as JsonObject, workflow: q.workflow || undefined, tier: q.tier || undefined });
    }
    const sel = (name: string, value: string, options: readonly string[]) => (
      <select name={name}>
        {options.map((o) => (
          <option value={o} selected={o === value}>{o || '(default)'}</option>
        ))}
      </select>
    );
    return c.html(
      <Page ctx={ctx} title="Policy simulator" active="policy">
        <form method="get" action={`${ctx.base}/policy`} class="card">
          <label>principal {sel('as', q.as, airlock.workspace.file.identity.principals.map((p) => `${p.kind}:${p.id}`))}</label>
          <label>tool {sel('tool', q.tool, [...airlock.workspace.tools.keys()])}</label>
          <label>
            arguments (JSON) <textarea name="args" rows={4} class="mono">{q.args}</textarea>
          </label>
          <label>workflow {sel('workflow', q.workflow, ['', ...airlock.workspace.workflows.keys()])}</label>
          <label>tier {sel('tier', q.tier, ['', 'assist', 'prepare', 'execute-low', 'execute-high'])}</label>
          <label>classification in context {sel('classification', q.classification, ['public', 'internal', 'confidential', 'restricted'])}</label>
          <label>trust in context {sel('trust', q.trust, ['trusted', 'untrusted'])}</label>
          <button type="submit">Decide</button>
        </form>
        {result === null ? null : result.ok ? (
          <section class="card" id="simulation">
            <h2>
              Decision <Status value={result.decision.kind} />
            </h2>
            <p>policies: <span class="mono">{result.decision.basis.policyIds.join(', ') || '(none: deny by default)'}</span></p>
            <pre>{result.explanation.replace(/\u001b\[[0-9;]*m/g, '')}</pre>
          </section>
        ) : (
          <Notice kind="error">{`${result.error}${result.hint ? ` (${result.hint})` : ''}`}</Notice>
        )}
        <WhatIf base={ctx.base} csrf={<Csrf ctx={ctx} />} view={what} />
      </Page>,
      status,
    );
  }
}

/** The what-if form and, after a run, its summary and the requests decided differently or not replayable. */
function WhatIf({ base, csrf, view }: { base: string; csrf: unknown; view: WhatIfView }) {
  const r = view.report;
  const changed = r ? r.rows.filter((x) => x.change !== 'same') : [];
  return (
    <>
      <h2 id="what-if">What if: a draft policy set over the recorded requests</h2>
      <form method="post" action={`${base}/policy/what-if#what-if`} class="card" enctype="multipart/form-data">
        {csrf}
        <label>
          draft policy set (Cedar, the whole set, at most {WHAT_IF_LIMITS.maxDraftBytes / 1024} KB)
          <textarea name="draft" rows={16} class="mono" maxlength={WHAT_IF_LIMITS.maxDraftBytes} required>{view.draft}</textarea>
        </label>
        <label>
          replay the last <input name="last" type="number" min={1} max={WHAT_IF_LIMITS.maxLast} value={view.last} /> recorded decisions
        </label>
        <button type="submit">Replay</button>
      </form>
      {view.errors ? (
        <section class="card" id="what-if-errors">
          <Notice kind="error">the draft was not replayed</Notice>
          <pre>{view.errors.join('\n')}</pre>
        </section>
      ) : null}
      {r ? (
        <section class="card" id="what-if-result">
          <p id="what-if-summary">
            {r.summary.same} same, {r.summary.newlyDenied} newly denied, {r.summary.newlyAllowed} newly allowed, {r.summary.obligationChanged} obligation changed, {r.summary.notReplayable} not replayable
          </p>
          <p class="muted">
            the last {r.examined} recorded decision(s) of {r.last} asked ({r.scanned} audit records read); draft <span class="mono">{r.draftPolicySetHash.slice(0, 12)}</span> ({r.draftPolicies} policies), current <span class="mono">{r.currentPolicySetHash.slice(0, 12)}</span>
          </p>
          {r.stoppedEarly ? <Notice kind="info">{`stopped early: ${r.stoppedEarly}`}</Notice> : null}
          {r.draftWarnings.map((w) => <Notice kind="info">{`warning: ${w}`}</Notice>)}
          <table class="list" id="what-if-rows">
            <thead>
              <tr>
                <th>seq</th>
                <th>time</th>
                <th>tool</th>
                <th>principal</th>
                <th>now</th>
                <th>draft</th>
                <th>change</th>
              </tr>
            </thead>
            <tbody>
              {changed.slice(0, ROWS_SHOWN).map((x) => (
                <tr>
                  <td>
                    <a href={`${base}/runs/${encodeURIComponent(x.runId)}`}>#{x.seq}</a>
                  </td>
                  <td>{x.time}</td>
                  <td class="mono">{x.tool}</td>
                  <td class="mono">{x.principal}{x.onBehalfOf ? ` for ${x.onBehalfOf}` : ''}</td>
                  <td>
                    <Status value={x.current.kind} /> {x.current.level ?? ''} <span class="mono">{x.current.policyIds.join(', ') || '(deny by default)'}</span>
                  </td>
                  <td title={x.draft.reasons.join('; ')}>
                    <Status value={x.draft.kind} /> {x.draft.level ?? ''} <span class="mono">{x.draft.policyIds.join(', ') || '(deny by default)'}</span>
                  </td>
                  <td>{`${label(x.current)} → ${label(x.draft)}: ${x.change}`}</td>
                </tr>
              ))}
              {r.notReplayable.slice(0, ROWS_SHOWN).map((n) => (
                <tr class="not-replayable">
                  <td>#{n.seq}</td>
                  <td>{n.time}</td>
                  <td class="mono">{n.tool}</td>
                  <td class="mono">{n.principal ?? ''}</td>
                  <td colspan={3}>not replayable: {n.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {changed.length > ROWS_SHOWN || r.notReplayable.length > ROWS_SHOWN ? <p class="muted">{`the first ${ROWS_SHOWN} of each are listed; the counts above cover them all (the CLI lists every one: airlock policy what-if)`}</p> : null}
        </section>
      ) : null}
    </>
  );
}
