// The pilot pages: each workflow's weekly review (the same body `airlock report` writes), a week at a
// time, with links to the week before and after.
import type { Hono } from 'hono';
import { AirlockError } from '../errors.js';
import { weeklyReview } from '../pilot/pilot.js';
import { pilotDeps } from '../pilot/eval/pilot-context.js';
import { ReviewBody } from '../pilot/report-html.js';
import { parseWeek, weekOf, type Week } from '../pilot/week.js';
import type { ConsoleDeps, ConsoleEnv } from './context.js';
import { Notice, Page } from './layout.js';

const WEEK_MS = 7 * 86_400_000;

/** Adds `/pilot` (the workflows) and `/pilot/:workflow?week=YYYY-Www`. */
export function mountPilotPages(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  const { airlock } = deps;

  app.get('/pilot', (c) => {
    const ctx = c.get('page');
    const workflows = [...airlock.workspace.workflows.values()];
    return c.html(
      <Page ctx={ctx} title="Pilot" active="pilot">
        <p>Each workflow's week: KPIs against its baseline and thresholds, the trend, incidents, overrides, autonomy and a recommendation.</p>
        <ul>
          {workflows.map((w) => (
            <li>
              <a href={`${ctx.base}/pilot/${encodeURIComponent(w.name)}`}>{w.name}</a> (tier {w.tier}){w.pilot ? '' : ', no pilot section yet: defaults apply'}
            </li>
          ))}
        </ul>
      </Page>,
    );
  });

  app.get('/pilot/:workflow', async (c) => {
    const ctx = c.get('page');
    const name = c.req.param('workflow');
    let week: Week;
    try {
      const asked = c.req.query('week');
      week = asked ? parseWeek(asked) : weekOf(airlock.now());
    } catch (e) {
      return c.html(
        <Page ctx={ctx} title="Pilot" active="pilot">
          <Notice kind="error">{e instanceof AirlockError ? e.message : 'bad week'}</Notice>
        </Page>,
        400,
      );
    }
    if (!airlock.workspace.workflows.has(name)) {
      return c.html(
        <Page ctx={ctx} title="Pilot" active="pilot">
          <Notice kind="error">{`no workflow \`${name.slice(0, 100)}\` is declared`}</Notice>
        </Page>,
        404,
      );
    }
    const review = await weeklyReview(pilotDeps(airlock), name, week);
    const before = weekOf(new Date(Date.parse(week.from) - WEEK_MS)).name;
    const after = weekOf(new Date(Date.parse(week.from) + WEEK_MS)).name;
    const href = (w: string): string => `${ctx.base}/pilot/${encodeURIComponent(name)}?week=${w}`;
    return c.html(
      <Page ctx={ctx} title={`Pilot: ${name}, week ${week.name}`} active="pilot">
        <nav class="weeks">
          <a href={href(before)}>← {before}</a> <a href={href(after)}>{after} →</a>
        </nav>
        <ReviewBody review={review} />
      </Page>,
    );
  });
}
