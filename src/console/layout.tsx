// The console's page frame (navigation, who is signed in, sign-out) and small shared pieces.
import type { Child, FC } from 'hono/jsx';
import { describeScope, scopeOf } from '../gateway/halts.js';
import type { HaltRecord } from '../store/store.js';

/** What every page knows: where the console is mounted, who is signed in and their CSRF token. */
export interface PageContext {
  readonly base: string;
  readonly principal: string | null;
  readonly csrf: string | null;
  /** The active halts (the kill switch), shown on every page while they hold. */
  readonly halts?: readonly HaltRecord[];
}

const NAV: readonly (readonly [string, string])[] = [
  ['approvals', 'Approvals'],
  ['runs', 'Runs'],
  ['incidents', 'Incidents'],
  ['audit', 'Audit'],
  ['policy', 'Policy simulator'],
  ['pilot', 'Pilot'],
];

/** A whole page. */
export const Page: FC<{ ctx: PageContext; title: string; active?: string; children?: Child }> = ({ ctx, title, active, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} · Airlock`}</title>
      <link rel="stylesheet" href={`${ctx.base}/static/console.css`} />
      <script src={`${ctx.base}/static/console.js`} defer></script>
    </head>
    <body>
      <header>
        <strong class="brand">Airlock</strong>
        {ctx.principal ? (
          <nav>
            {NAV.map(([path, label]) => (
              <a href={`${ctx.base}/${path}`} class={active === path ? 'active' : ''}>
                {label}
              </a>
            ))}
          </nav>
        ) : null}
        {ctx.principal ? (
          <form method="post" action={`${ctx.base}/sign-out`} class="who">
            <span id="who">{ctx.principal}</span>
            <Csrf ctx={ctx} />
            <button type="submit">Sign out</button>
          </form>
        ) : null}
      </header>
      <main>
        {ctx.halts && ctx.halts.length > 0 ? <Halts halts={ctx.halts} /> : null}
        <h1>{title}</h1>
        {children}
      </main>
    </body>
  </html>
);

/** What is halted now: each scope, who stopped it, when and why (an owner resumes it with `airlock resume`). */
const Halts: FC<{ halts: readonly HaltRecord[] }> = ({ halts }) => (
  <div class="halts" role="alert">
    {halts.map((h) => (
      <p>
        <strong>{`Halted: ${describeScope(scopeOf(h.scope))}`}</strong>
        {` by ${h.stoppedBy} at ${when(h.stoppedAt)}: ${h.reason} `}
        <span class="halt-id">{`(${h.id}; nothing in it runs or is approved until an owner resumes it)`}</span>
      </p>
    ))}
  </div>
);

/** The hidden CSRF field every state-changing form carries. */
export const Csrf: FC<{ ctx: PageContext }> = ({ ctx }) => <input type="hidden" name="_csrf" value={ctx.csrf ?? ''} />;

/** A notice: a refusal with its reason, or a confirmation. */
export const Notice: FC<{ kind: 'error' | 'ok' | 'info'; children?: Child }> = ({ kind, children }) => (
  <p class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
    {children}
  </p>
);

/** A status in colour (the class names the status). */
export const Status: FC<{ value: string }> = ({ value }) => <span class={`status s-${value.replace(/[^a-z-]/g, '')}`}>{value}</span>;

/** JSON, pretty-printed in a block. */
export const Json: FC<{ value: unknown }> = ({ value }) => <pre class="json">{JSON.stringify(value, null, 2)}</pre>;

/** A time shown as `YYYY-MM-DD HH:MM:SS` UTC. */
export function when(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}` : '—';
}
