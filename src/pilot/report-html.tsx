// The weekly review as HTML (pure): one self-contained page, charts drawn as inline SVG (no script, no
// CDN: it opens offline and from a mail), every value escaped by Hono's JSX. The console's pilot page
// shows the same body.
import type { FC } from 'hono/jsx';
import { fmtNumber, fmtRate, kpiRows } from './report-markdown.js';
import type { WeeklyReview } from './review.js';

/** One series of a chart: a value per week (null: not measured that week). */
interface Series {
  readonly name: string;
  readonly color: string;
  readonly values: readonly (number | null)[];
}

const W = 560;
const H = 170;
const PAD = { left: 44, right: 12, top: 12, bottom: 34 };

/** A line chart over the weeks (rates: 0 to 100%), or bars for one series of counts. */
export const Chart: FC<{ title: string; weeks: readonly string[]; series: readonly Series[]; kind: 'rate' | 'count' }> = ({ title, weeks, series, kind }) => {
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  // Counts: an even whole number on top, so the middle line is a whole number too.
  const top = kind === 'rate' ? 1 : Math.max(2, 2 * Math.ceil(Math.max(0, ...values) / 2));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const x = (i: number): number => PAD.left + (weeks.length <= 1 ? innerW / 2 : (i * innerW) / (weeks.length - 1));
  const y = (v: number): number => PAD.top + innerH - (v / top) * innerH;
  const label = (v: number): string => (kind === 'rate' ? `${Math.round(v * 100)}%` : String(Math.round(v)));
  const barW = Math.max(4, Math.min(36, innerW / Math.max(1, weeks.length) - 8));
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={title}>
        {[0, 0.5, 1].map((f) => (
          <g>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(top * f)} y2={y(top * f)} stroke="#ddd" stroke-width="1" />
            <text x={PAD.left - 6} y={y(top * f) + 4} text-anchor="end" font-size="10" fill="#555">
              {label(top * f)}
            </text>
          </g>
        ))}
        {weeks.map((w, i) => (
          <text x={x(i)} y={H - 14} text-anchor="middle" font-size="10" fill="#555">
            {w.slice(5)}
          </text>
        ))}
        {kind === 'count'
          ? series.flatMap((s) => s.values.map((v, i) => (v === null ? null : <rect x={x(i) - barW / 2} y={y(v)} width={barW} height={Math.max(0, y(0) - y(v))} fill={s.color} />)))
          : series.map((s) => {
              const points = s.values.flatMap((v, i) => (v === null ? [] : [`${x(i).toFixed(1)},${y(v).toFixed(1)}`]));
              return (
                <g>
                  <polyline points={points.join(' ')} fill="none" stroke={s.color} stroke-width="2" />
                  {s.values.map((v, i) => (v === null ? null : <circle cx={x(i)} cy={y(v)} r="3" fill={s.color} />))}
                </g>
              );
            })}
      </svg>
      <figcaption>
        {title}
        {series.length > 1
          ? series.map((s) => (
              <span class="key">
                <svg width="10" height="10" aria-hidden="true">
                  <rect width="10" height="10" fill={s.color} />
                </svg>{' '}
                {s.name}
              </span>
            ))
          : null}
      </figcaption>
    </figure>
  );
};

/** The review's body: recommendation, KPIs, charts, thresholds, baseline, incidents, overrides, autonomy, decision. */
export const ReviewBody: FC<{ review: WeeklyReview }> = ({ review: r }) => {
  const weeks = r.trend.map((t) => t.week);
  return (
    <div class="review">
      <p class="meta">
        {r.week.from.slice(0, 10)} to {r.week.to.slice(0, 10)} (exclusive) · tier <code>{r.tier}</code> · generated {r.generatedAt}
      </p>
      {r.truncated ? <p class="warn">The week held more runs than one report reads: these are its newest.</p> : null}
      <section class={`verdict verdict-${r.recommendation.verdict}`}>
        <h2>Recommendation: {r.recommendation.verdict}</h2>
        <ul>
          {r.recommendation.reasons.map((x) => (
            <li>{x}</li>
          ))}
        </ul>
      </section>
      <section>
        <h2>KPIs</h2>
        <table>
          <tbody>
            {kpiRows(r.kpis).map(([k, v]) => (
              <tr>
                <th scope="row">{k}</th>
                <td class="num">{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {r.outsideGroup > 0 ? <p>{`${r.outsideGroup} run${r.outsideGroup === 1 ? '' : 's'} acted for people outside the pilot group.`}</p> : null}
      </section>
      <section class="charts">
        <h2>Trend</h2>
        <Chart title="Runs started per week" kind="count" weeks={weeks} series={[{ name: 'runs', color: '#4c78a8', values: r.trend.map((t) => t.kpis.runs) }]} />
        <Chart
          title="Rates per week"
          kind="rate"
          weeks={weeks}
          series={[
            { name: 'verified', color: '#2e7d32', values: r.trend.map((t) => t.kpis.verifiedRate) },
            { name: 'overridden', color: '#c62828', values: r.trend.map((t) => t.kpis.overrideRate) },
            { name: 'escalated', color: '#ef6c00', values: r.trend.map((t) => t.kpis.escalationRate) },
          ]}
        />
      </section>
      {r.thresholds.length > 0 ? (
        <section>
          <h2>Thresholds</h2>
          <table>
            <thead>
              <tr>
                <th>KPI</th>
                <th>value</th>
                <th>bound</th>
                <th>status</th>
              </tr>
            </thead>
            <tbody>
              {r.thresholds.map((t) => (
                <tr class={t.status === 'missed' ? 'missed' : ''}>
                  <td>{t.kpi}</td>
                  <td class="num">{fmtNumber(t.value, 3)}</td>
                  <td>{[t.min !== undefined ? `≥ ${t.min}` : '', t.max !== undefined ? `≤ ${t.max}` : ''].filter(Boolean).join(', ')}</td>
                  <td>{t.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      <section>
        <h2>Against the baseline</h2>
        <table>
          <thead>
            <tr>
              <th>measure</th>
              <th>baseline</th>
              <th>pilot</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {r.baseline.map((b) => {
              const value = (v: number | null): string => (v === null ? '—' : b.unit === 'share' ? fmtRate(v) : fmtNumber(v, 2));
              return (
                <tr class={b.better === false ? 'missed' : ''}>
                  <td>{`${b.measure}${b.unit && b.unit !== 'share' ? ` (${b.unit})` : ''}`}</td>
                  <td class="num">{value(b.baseline)}</td>
                  <td class="num">{value(b.pilot)}</td>
                  <td>{b.better === null ? '' : b.better ? 'better or equal' : 'worse'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <p class="note">The pilot's cost per case is model cost only; its time per case is a run from start to end, waits for people included.</p>
      </section>
      <section>
        <h2>Open incidents</h2>
        {r.openIncidents.length === 0 ? (
          <p>None.</p>
        ) : (
          <ul>
            {r.openIncidents.map((i) => (
              <li>
                <code>{i.id}</code> {i.kind}: {i.title} (run <code>{i.runId}</code>, opened {i.openedAt})
              </li>
            ))}
          </ul>
        )}
      </section>
      <section>
        <h2>Overrides ({r.overridesTotal})</h2>
        {r.overrides.length === 0 ? (
          <p>None this week.</p>
        ) : (
          <ul>
            {r.overrides.map((o) => (
              <li>
                {o.outcome} <code>{o.tool}</code> in run <code>{o.runId}</code>
                {o.by ? ` by ${o.by}` : ''}
                {o.reason ? `: “${o.reason}”` : ''}
              </li>
            ))}
            {r.overridesTotal > r.overrides.length ? <li>{`… and ${r.overridesTotal - r.overrides.length} more`}</li> : null}
          </ul>
        )}
      </section>
      <section>
        <h2>Autonomy</h2>
        <p>
          Now <code>{r.autonomy.tier}</code>: <strong>{r.autonomy.recommendation}</strong>
          {r.autonomy.recommendation === 'promote' && r.autonomy.next ? ` to ${r.autonomy.next}` : r.autonomy.recommendation === 'demote' && r.autonomy.lower ? ` to ${r.autonomy.lower}` : ''}.
        </p>
        <ul>
          {r.autonomy.reasons.map((x) => (
            <li>{x}</li>
          ))}
        </ul>
        {r.autonomy.promotion.length > 0 ? (
          <table>
            <thead>
              <tr>
                <th>rule for {r.autonomy.next}</th>
                <th>required</th>
                <th>measured</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {r.autonomy.promotion.map((c) => (
                <tr class={c.ok ? '' : 'missed'}>
                  <td>{c.rule}</td>
                  <td>{c.required}</td>
                  <td>{c.actual}</td>
                  <td>{c.ok ? 'holds' : 'not yet'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
      <section>
        <h2>Decision</h2>
        {r.decision === null ? (
          <p>
            No decision recorded yet (<code>airlock pilot decide</code>).
          </p>
        ) : (
          <p>
            <strong>{r.decision.outcome}</strong>, proposed by {r.decision.proposedBy} on {r.decision.proposedAt}: {r.decision.reason}. Signed by{' '}
            {r.decision.signOffs.length === 0 ? 'nobody yet' : r.decision.signOffs.map((s) => `${s.by} (${s.at})`).join(', ')}.
            {r.decision.missing.length > 0 ? ` Still needs: ${r.decision.missing.join(', ')}.` : ' The decision stands.'}
          </p>
        )}
      </section>
    </div>
  );
};

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0}th,td{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.missed td{color:#b00020;font-weight:600}
.verdict{border-left:4px solid #4c78a8;padding:.2rem 1rem;background:#f5f8fc}.verdict-stop,.verdict-demote,.verdict-redesign{border-color:#b00020;background:#fdf3f4}
.verdict-promote{border-color:#2e7d32;background:#f3faf3}.meta,.note{color:#555}.warn{color:#b00020}
figure.chart{display:inline-block;margin:.5rem 1rem .5rem 0}figcaption{font-size:12px;color:#444}.key{margin-left:.8rem}code{font-size:90%}`;

/** The review as one self-contained HTML document. */
export function reviewHtml(r: WeeklyReview): string {
  const doc = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`Pilot review: ${r.workflow}, ${r.week.name}`}</title>
        <style>{STYLE}</style>
      </head>
      <body>
        <h1>
          Pilot review: {r.workflow}, week {r.week.name}
        </h1>
        <ReviewBody review={r} />
      </body>
    </html>
  );
  return `<!doctype html>\n${doc.toString()}`;
}
