/**
 * A call made alone (a batch of one), without `lv_license_batch`: the usual grant and the usual release,
 * each about a third cheaper in the database than through that function, which runs many statements for
 * one call (each with a snapshot, a plan look-up and parameters of its own). Anything out of the ordinary
 * is left to the function: {@link GRANT_ALONE} grants only when nothing but a grant can be the answer.
 */

/**
 * Grants an acquire made alone through `lv_license_grant_alone` (functions.ts: its arguments in order) when
 * nothing but a grant can be its answer; no row otherwise, and the caller then asks `lv_license_batch`.
 */
export const GRANT_ALONE = {
  name: 'lv_license_grant_alone',
  text: 'SELECT * FROM lv_license_grant_alone($1, $2, $3, $4, $5, $6, $7, $8, $9)',
} as const;

/**
 * Releases lease `$2` of account `$1`, as `lv_license_batch` does: it goes when the release is not older
 * than it (`$3`: the epoch the release names, or null), or when the releasing connection's session `$4`
 * holds it, or, without an epoch, only through node `$5`. Returns the lease if it went (the columns
 * `lv_license_lease_json` names, and `live`: whether its session was alive), and tells every node when one
 * went from an account with anyone waiting. One lease, by its whole key: a list of ids let the planner read
 * every lease of the account (see lv_license_batch).
 */
export const RELEASE_ALONE = {
  name: 'lv_license_release_alone',
  text: `WITH gone AS (
  DELETE FROM lv_license_leases l
  WHERE l.account = $1 AND l.id = $2
    AND (l.session = $4 OR coalesce(l.epoch <= $3::bigint, l.node = $5))
  RETURNING l.account, l.id, l.feature, l.count, l.granted_at, l.node, l.owner, l.epoch, l.session,
    (SELECT s.expires_at FROM lv_license_sessions s WHERE s.id = l.session) AS expires
), woken AS (
  SELECT pg_notify('lv_license_changed', '') FROM (SELECT 1 FROM gone LIMIT 1) g
  WHERE EXISTS (SELECT 1 FROM lv_license_waiters WHERE account = $1)
)
SELECT g.account, g.id, g.feature, g.count, (extract(epoch FROM g.granted_at) * 1000)::float8 AS "grantedAt",
  (extract(epoch FROM g.expires) * 1000)::float8 AS "expiresAt", g.node, g.owner, g.epoch, g.session,
  coalesce(g.expires > clock_timestamp(), false) AS live, (SELECT count(*) FROM woken) AS woken
FROM gone g`,
} as const;
