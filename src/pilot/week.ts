// ISO 8601 weeks (pure): `2026-W49` is the week from Monday 00:00 UTC to the next Monday.
import { AirlockError } from '../errors.js';

/** A week: its ISO name and its bounds [from, to) as ISO-8601 instants. */
export interface Week {
  readonly name: string;
  readonly from: string;
  readonly to: string;
}

const DAY = 86_400_000;

/** The ISO week holding `at`. */
export function weekOf(at: Date): Week {
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const monday = new Date(day.getTime() - ((day.getUTCDay() + 6) % 7) * DAY);
  // The ISO year is the year of the week's Thursday; week 1 holds that year's first Thursday.
  const thursday = new Date(monday.getTime() + 3 * DAY);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY));
  return { name: `${year}-W${String(week).padStart(2, '0')}`, from: monday.toISOString(), to: new Date(monday.getTime() + 7 * DAY).toISOString() };
}

/** The week `name` (`YYYY-Www`); an `input` error for anything else, or a week the year does not have. */
export function parseWeek(name: string): Week {
  const m = /^(\d{4})-W(\d{2})$/.exec(name);
  if (!m) throw new AirlockError('input', `\`${name.slice(0, 40)}\` is not an ISO week`, { hint: 'write it as YYYY-Www, e.g. 2026-W49' });
  const year = Number(m[1]);
  const n = Number(m[2]);
  // Week 1 is the week holding 4 January.
  const first = weekOf(new Date(Date.UTC(year, 0, 4)));
  const week = weekOf(new Date(Date.parse(first.from) + (n - 1) * 7 * DAY));
  if (n < 1 || week.name !== name) throw new AirlockError('input', `${year} has no week ${n}`, { hint: `its weeks run from ${year}-W01 to ${weekOf(new Date(Date.UTC(year, 11, 28))).name}` });
  return week;
}

/** The `count` weeks ending with `last`, oldest first. */
export function weeksBefore(last: Week, count: number): Week[] {
  return Array.from({ length: count }, (_, i) => weekOf(new Date(Date.parse(last.from) - (count - 1 - i) * 7 * DAY)));
}
