// The SQL of `Store.liveGrants`, for both stores: the grants the gateway may cover a call with.

/**
 * `Store.liveGrants`: $1 workflow, $2 tool, $3 now, $4 the most; the index grants_live serves it. A grant an
 * instance from before the expiry column wrote (during a rolling upgrade) has none (NULL, or '' on SQLite):
 * it is read too, and the gateway checks its expiry from the record.
 */
export const LIVE_GRANTS_SQL =
  "SELECT id, record FROM grants WHERE workflow = $1 AND tool = $2 AND status = 'active' AND (expires_at > $3 OR coalesce(expires_at, '') = '') ORDER BY created_at, id LIMIT $4";
