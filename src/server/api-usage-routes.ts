// The API's usage route, for people: what Airlock's own model turns used and cost, and every run's
// tool calls, per workflow, principal or route over the last days (the same totals as `airlock usage`).
import type { Hono } from 'hono';
import type { Airlock } from '../airlock.js';
import { principalRef } from '../identity/principal.js';
import { usageTotals } from '../orchestration/usage.js';
import * as Usage from './api-usage-schemas.js';
import type { ApiDoor, ApiEnv, Out } from './api-door.js';
import { errorBody } from './api-messages.js';

/** Adds `GET /usage` to `app`. */
export function mountUsageRoutes(app: Hono<ApiEnv>, airlock: Airlock, door: ApiDoor): void {
  app.get('/usage', async (c) => {
    const auth = c.get('auth');
    if (auth.principal.kind !== 'user') return door.refuse(c, 403, errorBody(`\`${principalRef(auth.principal)}\` is not a person: usage is for the people who own the workflows`), null);
    const q = await door.readQuery(c, Usage.UsageQuery);
    if (!q.ok) return q.response;
    const since = new Date(airlock.now().getTime() - (q.value.days - 1) * 86_400_000).toISOString().slice(0, 10);
    const res: Out<typeof Usage.UsageReport> = { since, by: q.value.by, totals: usageTotals(await airlock.store.usageSince(since), q.value.by).map((t) => ({ ...t, cost: { ...t.cost } })) };
    return c.json(res, 200);
  });
}
