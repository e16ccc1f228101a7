/**
 * The functions of the store, as the code of this version calls them. Migration 3 installs them, and every
 * later migration that changes one installs them all again (`CREATE OR REPLACE`), so a database migrated
 * step by step runs the same functions as a new one.
 */
const STORE_FUNCTIONS = `
-- The small helpers below are PL/pgSQL, not SQL functions: a SQL function that is not inlined (these
-- would not be: jsonb_build_object and extract are stable, and some callers pass a sub-select) has its body
-- planned again in every statement that calls it, which cost more than the rest of a release.
CREATE OR REPLACE FUNCTION lv_license_ms(t timestamptz) RETURNS float8 LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (extract(epoch FROM t) * 1000)::float8;
END $$;

-- A lease as the store reads it; p_expires is its session's expiry (the lease's own).
CREATE OR REPLACE FUNCTION lv_license_lease_json(l lv_license_leases, p_expires timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN jsonb_build_object('account', l.account, 'id', l.id, 'feature', l.feature, 'count', l.count,
    'grantedAt', extract(epoch FROM l.granted_at) * 1000, 'expiresAt', extract(epoch FROM p_expires) * 1000,
    'node', l.node, 'owner', l.owner, 'epoch', l.epoch, 'session', l.session);
END $$;

CREATE OR REPLACE FUNCTION lv_license_waiter_json(w lv_license_waiters) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN jsonb_build_object('seq', w.seq, 'account', w.account, 'id', w.id, 'feature', w.feature,
    'count', w.count, 'node', w.node, 'owner', w.owner, 'requestId', w.request_id,
    'deadline', lv_license_ms(w.deadline), 'reported', w.reported);
END $$;

-- Extends a live session (or makes it) and returns its id; a dead one is never extended: a successor takes
-- its place, and the caller uses that from then on. With p_keep (ms), a session with more than that left is
-- used as it is, without a write (nor a lock): p_keep is longer than any statement may run, so it is still
-- alive when the caller commits. A grant passes it; a renewal does not.
-- A dead session's successor is named after it and its expiry, which never changes once dead: two calls of
-- one connection that find it dead at once (two batches in flight) make the same successor, so the
-- connection keeps one session. A name is made again only after a sweep deleted it with its leases (as the
-- connection's first name is), so nothing bound to it comes back. Callers holding a pool's lock pass
-- p_fresh: they take a random successor, never waiting on another transaction's insert (a lock cycle).
CREATE OR REPLACE FUNCTION lv_license_session(p_session text, p_node text, p_ttl float8, p_keep float8 DEFAULT NULL,
  p_fresh boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_id text;
  v_name text;
  v_dead timestamptz;
BEGIN
  IF p_keep IS NOT NULL THEN
    SELECT id INTO v_id FROM lv_license_sessions
      WHERE id = p_session AND expires_at > clock_timestamp() + p_keep * interval '1 millisecond';
    IF v_id IS NOT NULL THEN
      RETURN v_id;
    END IF;
  END IF;
  -- Each name is tried twice: a transaction making it at the same moment wins the insert, and the second
  -- round extends what it made.
  v_name := p_session;
  LOOP
    FOR attempt IN 1 .. 2 LOOP
      UPDATE lv_license_sessions SET expires_at = greatest(expires_at, clock_timestamp() + p_ttl * interval '1 millisecond')
        WHERE id = v_name AND expires_at > clock_timestamp() RETURNING id INTO v_id;
      IF v_id IS NOT NULL THEN
        RETURN v_id;
      END IF;
      INSERT INTO lv_license_sessions (id, node, expires_at)
        VALUES (v_name, p_node, clock_timestamp() + p_ttl * interval '1 millisecond')
        ON CONFLICT (id) DO NOTHING RETURNING id INTO v_id;
      IF v_id IS NOT NULL THEN
        RETURN v_id;
      END IF;
    END LOOP;
    IF p_fresh THEN
      v_name := p_node || '/' || gen_random_uuid()::text;
    ELSE
      SELECT expires_at INTO v_dead FROM lv_license_sessions WHERE id = v_name;
      IF v_dead IS NOT NULL AND length(v_name) > 512 THEN
        -- A connection whose sessions died many times over, each before a sweep: the names stop growing.
        v_name := p_node || '/' || gen_random_uuid()::text;
      ELSIF v_dead IS NOT NULL THEN
        -- (Swept meanwhile, it is made again under the same name on the next round.)
        v_name := v_name || '>' || (extract(epoch FROM v_dead) * 1000000)::bigint::text;
      END IF;
    END IF;
  END LOOP;
END $$;

-- The last step of a statement that bound leases to sessions: each of those sessions must outlive the
-- commit that follows at once (by a margin), or a lease would be committed dead and counted free by the
-- next grant. A statement that waited longer than a TTL for its locks (a TTL of a few hundred ms on a busy
-- database) is refused as a serialization failure, and the store runs it again.
CREATE OR REPLACE FUNCTION lv_license_assert_alive(p_sessions text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM unnest(p_sessions) x(id)
      LEFT JOIN lv_license_sessions s ON s.id = x.id
      WHERE s.id IS NULL OR s.expires_at <= clock_timestamp() + interval '100 milliseconds') THEN
    RAISE EXCEPTION 'a session ran out while its leases were granted; run the call again'
      USING ERRCODE = '40001';
  END IF;
END $$;

-- The session a lease is about to be bound to, made sure of at that moment: one made sure of when its batch
-- began may have run short while the batch waited for pools (or, with a TTL shorter than a statement may
-- run, died). With more than p_keep left it is used as it is; otherwise it is extended (its row then locked
-- to the end of the transaction, so no sweep can take it) or succeeded.
CREATE OR REPLACE FUNCTION lv_license_live_session(p_session text, p_node text, p_ttl float8, p_keep float8) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM lv_license_sessions WHERE id = p_session
      AND expires_at > clock_timestamp() + coalesce(p_keep, 0) * interval '1 millisecond') THEN
    RETURN p_session;
  END IF;
  RETURN lv_license_session(p_session, p_node, p_ttl, NULL, true);
END $$;

-- Seats in use in a pool, exactly; call it under the pool's row lock, as a statement of its own (it then
-- sees every release committed before it; one committed after can only make it count high, as if the
-- release came later). The sessions counted as dead are share-locked until the transaction ends, so that
-- none is renewed behind this count's back.
CREATE OR REPLACE FUNCTION lv_license_used(p_account text, p_feature text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_dead text[];
BEGIN
  SELECT coalesce(array_agg(d.id), '{}') INTO v_dead FROM (
    SELECT s.id FROM lv_license_sessions s
    WHERE s.id IN (SELECT l.session FROM lv_license_leases l WHERE l.account = p_account AND l.feature = p_feature)
      AND s.expires_at <= clock_timestamp()
    FOR SHARE OF s) d;
  RETURN (SELECT coalesce(sum(l.count), 0) FROM lv_license_leases l
    WHERE l.account = p_account AND l.feature = p_feature AND l.session <> ALL (v_dead))::integer;
END $$;

-- Waiters in a pool's queue that still count: not past their deadline, and of this node or of a node
-- heard from within p_dead ms.
CREATE OR REPLACE FUNCTION lv_license_queued(p_account text, p_feature text, p_node text, p_dead float8) RETURNS integer
LANGUAGE sql STABLE AS $$
  SELECT count(*)::integer FROM lv_license_waiters w
  WHERE w.account = p_account AND w.feature = p_feature AND w.deadline > now()
    AND (w.node = p_node OR EXISTS (SELECT 1 FROM lv_license_nodes n
      WHERE n.node = w.node AND n.seen_at > now() - p_dead * interval '1 millisecond'))
$$;

-- A waiter's 1-based place in its queue, among the waiters that count (itself always counts).
CREATE OR REPLACE FUNCTION lv_license_position(p_seq bigint, p_node text, p_dead float8) RETURNS integer
LANGUAGE sql STABLE AS $$
  SELECT count(*)::integer FROM lv_license_waiters w, lv_license_waiters me
  WHERE me.seq = p_seq AND w.account = me.account AND w.feature = me.feature AND w.seq <= me.seq
    AND (w.seq = me.seq OR (w.deadline > now() AND (w.node = p_node OR EXISTS (SELECT 1 FROM lv_license_nodes n
      WHERE n.node = w.node AND n.seen_at > now() - p_dead * interval '1 millisecond'))))
$$;

-- Releases and acquires of many connections in one transaction (one commit for all). p_items is a JSON
-- array of {op: 'release', account, ids: [id], epochs: [epoch or null, one per id], session} and
-- {op: 'acquire', account, id, feature, count, owner, session, requestId, wait}; acquires run first, which
-- the caller has sorted by pool (in arrival order within a pool), then releases. Returns {sessions: {asked: used}, results: [...]} in the
-- items' order.
CREATE OR REPLACE FUNCTION lv_license_batch(p_items jsonb, p_node text, p_ttl float8, p_dead float8, p_keep float8)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  r jsonb;
  i integer;
  v_items integer := jsonb_array_length(p_items);
  v_acquires boolean := p_items @> '[{"op": "acquire"}]';
  v_releases boolean := p_items @> '[{"op": "release"}]';
  v_results jsonb[] := array_fill(NULL::jsonb, ARRAY[v_items]);
  v_sessions jsonb := '{}';
  v_exact boolean;
  v_waiting boolean;
  v_key text;
  v_pool_key text;
  v_pool_account text;
  v_pool_feature text;
  v_pool_row lv_license_pools;
  v_session text;
  v_account text;
  v_id text;
  v_feature text;
  v_count integer;
  v_owner integer;
  v_wait float8;
  v_total integer;
  v_in_use integer;
  v_queued integer;
  v_position integer;
  v_result jsonb;
  v_replaced jsonb;
  v_gone jsonb;
  v_notify boolean := false;
  v_lease lv_license_leases;
  v_waiter lv_license_waiters;
  v_json jsonb;
  v_fresh_until timestamptz;
  v_expires timestamptz;
  v_bound text[] := '{}';
BEGIN
  -- Each session is made sure of below, after this moment: until a twentieth of a TTL after it, each has at
  -- least p_keep or a whole TTL, less that twentieth, left: with p_keep at least half a TTL and a TTL of
  -- 1 s or more, over 400 ms. Bindings until then use the sessions as they are, and the check before the
  -- commit is not needed; later ones make sure again (and always, with a shorter TTL or p_keep).
  v_fresh_until := CASE WHEN p_ttl >= 1000 AND coalesce(p_keep, p_ttl) >= p_ttl / 2
    THEN clock_timestamp() + p_ttl / 20 * interval '1 millisecond' ELSE '-infinity' END;
  -- Each connection's session, in one order, before any pool is locked (a batch of releases binds none).
  IF v_items = 1 AND v_acquires THEN
    -- (One acquire, the usual call made alone: the same, without a query to list the sessions.)
    v_session := p_items -> 0 ->> 'session';
    v_sessions := jsonb_build_object(v_session, lv_license_session(v_session, p_node, p_ttl, p_keep));
  ELSIF v_acquires THEN
    FOR v_session IN SELECT DISTINCT e ->> 'session' FROM jsonb_array_elements(p_items) e
        WHERE e ->> 'op' = 'acquire' ORDER BY 1 LOOP
      v_sessions := v_sessions || jsonb_build_object(v_session, lv_license_session(v_session, p_node, p_ttl, p_keep));
    END LOOP;
  END IF;
  FOR i IN 0 .. v_items - 1 LOOP
    EXIT WHEN NOT v_acquires;
    r := p_items -> i;
    CONTINUE WHEN r ->> 'op' <> 'acquire';
    v_account := r ->> 'account';
    v_id := r ->> 'id';
    v_feature := r ->> 'feature';
    v_count := (r ->> 'count')::integer;
    v_owner := (r ->> 'owner')::integer;
    v_wait := coalesce((r ->> 'wait')::float8, 0);
    v_session := v_sessions ->> (r ->> 'session');
    v_result := NULL;
    v_replaced := NULL;
    -- The pool's lock (held to the end), then the id's: acquires of one id serialise whatever feature they
    -- name. What the batch learnt of the pool stays true while it holds the lock; the acquires of a pool
    -- come one after another (the caller sorts them), so what it learnt of the last pool is all it keeps.
    -- (Unsorted, a pool met again is counted again: its rows then include this batch's own, still exact.)
    v_key := v_account || chr(1) || v_feature;
    IF v_key IS DISTINCT FROM v_pool_key THEN
      IF v_pool_row.used IS DISTINCT FROM v_in_use OR v_pool_row.waiting IS DISTINCT FROM v_waiting THEN
        UPDATE lv_license_pools SET used = v_in_use, waiting = v_waiting
          WHERE account = v_pool_account AND feature = v_pool_feature;
      END IF;
      v_pool_key := v_key;
      v_pool_account := v_account;
      v_pool_feature := v_feature;
      -- The pool's seats in use or more (used: see "Exactness" at MIGRATION_3), so a grant that fits under
      -- it fits. A pool that looks full is counted again, exactly and afresh (lv_license_used), before anyone
      -- is refused or queued. Both figures go back to the pool's row when the batch leaves the pool.
      SELECT * INTO v_pool_row FROM lv_license_pools WHERE account = v_account AND feature = v_feature FOR UPDATE;
      v_total := v_pool_row.total;
      v_in_use := v_pool_row.used;
      v_waiting := v_pool_row.waiting;
      IF v_total IS NOT NULL AND v_in_use IS NULL THEN
        -- Every lease row of the pool, live or not swept yet.
        SELECT coalesce(sum(count), 0)::integer INTO v_in_use FROM lv_license_leases
          WHERE account = v_account AND feature = v_feature;
      END IF;
      IF v_waiting THEN
        v_waiting := EXISTS (SELECT 1 FROM lv_license_waiters WHERE account = v_account AND feature = v_feature);
      END IF;
      v_exact := false;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext(v_account), hashtext(v_id));
    SELECT * INTO v_lease FROM lv_license_leases WHERE account = v_account AND id = v_id FOR UPDATE;
    IF FOUND THEN
      IF NOT EXISTS (SELECT 1 FROM lv_license_sessions s WHERE s.id = v_lease.session
          AND s.expires_at > clock_timestamp()) THEN
        -- Expired: gone for good, never brought back; the id may be granted afresh. (Its seats stay in
        -- v_in_use, which a recount may have made exact without them.)
        DELETE FROM lv_license_leases WHERE account = v_account AND id = v_id;
      ELSIF v_lease.feature <> v_feature OR v_lease.count <> v_count THEN
        v_result := jsonb_build_object('kind', 'conflict', 'held', true, 'feature', v_lease.feature, 'count', v_lease.count);
      ELSE
        IF clock_timestamp() > v_fresh_until THEN
          v_session := lv_license_live_session(v_session, p_node, p_ttl, p_keep);
          v_sessions := v_sessions || jsonb_build_object(r ->> 'session', v_session);
        END IF;
        v_bound := v_bound || v_session;
        UPDATE lv_license_leases l SET session = v_session, node = p_node, owner = v_owner,
            epoch = CASE WHEN l.session = v_session THEN l.epoch ELSE l.epoch + 1 END,
            expires_at = clock_timestamp() + p_ttl * interval '1 millisecond'
          WHERE l.account = v_account AND l.id = v_id
          RETURNING lv_license_lease_json(l, (SELECT s.expires_at FROM lv_license_sessions s WHERE s.id = l.session))
          INTO v_json;
        v_result := jsonb_build_object('kind', 'granted', 'reclaimed', true, 'lease', v_json);
      END IF;
    END IF;
    IF v_result IS NULL THEN
      SELECT * INTO v_waiter FROM lv_license_waiters WHERE account = v_account AND id = v_id FOR UPDATE;
      IF FOUND THEN
        IF v_waiter.feature <> v_feature OR v_waiter.count <> v_count THEN
          v_result := jsonb_build_object('kind', 'conflict', 'held', false, 'feature', v_waiter.feature, 'count', v_waiter.count);
        ELSE
          v_replaced := lv_license_waiter_json(v_waiter);
          IF v_total IS NOT NULL AND v_count <= v_total THEN
            v_position := lv_license_position(v_waiter.seq, p_node, p_dead);
            UPDATE lv_license_waiters SET node = p_node, owner = v_owner, request_id = (r ->> 'requestId')::bigint,
                reported = v_position,
                deadline = CASE WHEN v_wait > 0 THEN now() + v_wait * interval '1 millisecond' ELSE deadline END
              WHERE seq = v_waiter.seq;
            v_result := jsonb_build_object('kind', 'queued', 'position', v_position);
          ELSE
            -- Its pool shrank below it since it queued: it leaves, and is answered as a new request would be.
            DELETE FROM lv_license_waiters WHERE seq = v_waiter.seq;
          END IF;
        END IF;
      END IF;
    END IF;
    IF v_result IS NULL THEN
      IF v_total IS NULL OR v_total = 0 THEN
        v_result := jsonb_build_object('kind', 'unknown-feature');
      ELSIF v_count > v_total THEN
        v_result := jsonb_build_object('kind', 'never', 'total', v_total);
      ELSE
        v_queued := 0;
        IF v_waiting THEN
          v_queued := lv_license_queued(v_account, v_feature, p_node, p_dead);
        END IF;
        IF NOT v_exact AND (v_queued > 0 OR v_in_use + v_count > v_total) THEN
          v_in_use := lv_license_used(v_account, v_feature);
          v_exact := true;
        END IF;
        IF v_queued = 0 AND v_in_use + v_count <= v_total THEN
          IF clock_timestamp() > v_fresh_until THEN
            v_session := lv_license_live_session(v_session, p_node, p_ttl, p_keep);
            v_sessions := v_sessions || jsonb_build_object(r ->> 'session', v_session);
          END IF;
          v_bound := v_bound || v_session;
          INSERT INTO lv_license_leases AS l (account, id, feature, count, granted_at, expires_at, node, owner, session)
            VALUES (v_account, v_id, v_feature, v_count, clock_timestamp(),
              clock_timestamp() + p_ttl * interval '1 millisecond', p_node, v_owner, v_session)
            RETURNING lv_license_lease_json(l, (SELECT s.expires_at FROM lv_license_sessions s WHERE s.id = l.session))
            INTO v_json;
          v_in_use := v_in_use + v_count;
          v_result := jsonb_build_object('kind', 'granted', 'reclaimed', false, 'lease', v_json);
        ELSIF v_wait <= 0 THEN
          v_result := jsonb_build_object('kind', 'exhausted', 'total', v_total, 'inUse', v_in_use);
        ELSE
          INSERT INTO lv_license_waiters (account, id, feature, count, node, owner, request_id, deadline, reported)
            VALUES (v_account, v_id, v_feature, v_count, p_node, v_owner, (r ->> 'requestId')::bigint,
              now() + v_wait * interval '1 millisecond', v_queued + 1);
          v_result := jsonb_build_object('kind', 'queued', 'position', v_queued + 1);
          v_waiting := true;
        END IF;
      END IF;
    END IF;
    IF v_replaced IS NOT NULL THEN
      v_result := v_result || jsonb_build_object('replaced', v_replaced);
    END IF;
    v_results[i + 1] := v_result;
  END LOOP;
  IF v_pool_row.used IS DISTINCT FROM v_in_use OR v_pool_row.waiting IS DISTINCT FROM v_waiting THEN
    UPDATE lv_license_pools SET used = v_in_use, waiting = v_waiting
      WHERE account = v_pool_account AND feature = v_pool_feature;
  END IF;
  -- Releases, after the acquires: a lease row is never locked by a batch that then waits for a pool (a
  -- shrink holds its pool and then locks the pool's leases). A lease goes when the release is not older
  -- than it (its epoch), or when the releasing connection holds it (whatever epoch it named: it may have
  -- missed the answer that moved the lease to it), or, from a client that sends no epoch, only through the
  -- node it is held through.
  FOR i IN 0 .. v_items - 1 LOOP
    EXIT WHEN NOT v_releases;
    r := p_items -> i;
    CONTINUE WHEN r ->> 'op' <> 'release';
    -- One lease at a time, by its whole key: a list of ids let the planner, guessing the account small (a
    -- table not analyzed yet), read every lease of the account for each release.
    v_account := r ->> 'account';
    v_session := r ->> 'session';
    v_gone := '[]';
    FOR j IN 0 .. jsonb_array_length(r -> 'ids') - 1 LOOP
      DELETE FROM lv_license_leases l
        WHERE l.account = v_account AND l.id = r -> 'ids' ->> j
          AND (l.session = v_session OR coalesce(l.epoch <= (r -> 'epochs' ->> j)::bigint, l.node = p_node))
        RETURNING l.*, (SELECT s.expires_at FROM lv_license_sessions s WHERE s.id = l.session)
        INTO v_lease.account, v_lease.id, v_lease.feature, v_lease.count, v_lease.granted_at, v_lease.expires_at,
          v_lease.node, v_lease.owner, v_lease.epoch, v_lease.session, v_expires;
      CONTINUE WHEN NOT FOUND;
      v_gone := v_gone || jsonb_build_array(lv_license_lease_json(v_lease, v_expires)
        || jsonb_build_object('live', coalesce(v_expires > clock_timestamp(), false)));
    END LOOP;
    IF NOT v_notify AND jsonb_array_length(v_gone) > 0 THEN
      v_notify := EXISTS (SELECT 1 FROM lv_license_waiters WHERE account = v_account);
    END IF;
    v_results[i + 1] := jsonb_build_object('released', v_gone);
  END LOOP;
  -- Every session a lease was bound to, not only the last of each connection (a later binding may have
  -- found that one dead and taken a successor). Not needed while the sessions are as fresh as the batch
  -- made them (v_fresh_until).
  IF cardinality(v_bound) > 0 AND clock_timestamp() > v_fresh_until THEN
    PERFORM lv_license_assert_alive(v_bound);
  END IF;
  IF v_notify THEN
    PERFORM pg_notify('lv_license_changed', '');
  END IF;
  RETURN jsonb_build_object('sessions', v_sessions, 'results', to_jsonb(v_results));
END $$;

-- An acquire made alone, when nothing but a grant can be its answer: the usual call, in a third of the
-- statements lv_license_batch runs for it. Grants p_count seats of pool (p_account, p_feature) as lease p_id
-- when the session has more than p_keep ms left (it is then alive at the commit), the pool's used leaves
-- room and nobody may be waiting in it (both read under the pool's lock, so a grant that committed while
-- this one waited is counted), and the id is neither a lease nor a waiter. Locks as a batch does: the pool,
-- then the id. Returns the lease, or no row (nothing changed): the caller then asks lv_license_batch.
CREATE OR REPLACE FUNCTION lv_license_grant_alone(p_account text, p_id text, p_feature text, p_count integer,
  p_owner integer, p_session text, p_node text, p_keep float8, p_ttl float8)
RETURNS TABLE (account text, id text, feature text, count integer, "grantedAt" float8, "expiresAt" float8,
  node text, owner integer, epoch bigint, session text)
LANGUAGE plpgsql AS $$
DECLARE
  v_expires timestamptz;
BEGIN
  SELECT s.expires_at INTO v_expires FROM lv_license_sessions s
    WHERE s.id = p_session AND s.expires_at > clock_timestamp() + p_keep * interval '1 millisecond';
  IF v_expires IS NULL THEN
    RETURN;
  END IF;
  UPDATE lv_license_pools o SET used = o.used + p_count
    WHERE o.account = p_account AND o.feature = p_feature AND o.used + p_count <= o.total AND NOT o.waiting;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext(p_account), hashtext(p_id));
  RETURN QUERY INSERT INTO lv_license_leases AS l (account, id, feature, count, granted_at, expires_at, node, owner, session)
    SELECT p_account, p_id, p_feature, p_count, clock_timestamp(), clock_timestamp() + p_ttl * interval '1 millisecond',
      p_node, p_owner, p_session
    WHERE NOT EXISTS (SELECT 1 FROM lv_license_leases y WHERE y.account = p_account AND y.id = p_id)
      AND NOT EXISTS (SELECT 1 FROM lv_license_waiters w WHERE w.account = p_account AND w.id = p_id)
    RETURNING l.account, l.id, l.feature, l.count, (extract(epoch FROM l.granted_at) * 1000)::float8,
      (extract(epoch FROM v_expires) * 1000)::float8, l.node, l.owner, l.epoch, l.session;
  IF NOT FOUND THEN
    -- The id is taken: the seats go back (this transaction has held the pool's lock since it added them).
    UPDATE lv_license_pools o SET used = o.used - p_count WHERE o.account = p_account AND o.feature = p_feature;
  END IF;
END $$;

-- One pool's share of a node's grant pass, in one statement (no lock is held between round trips, so a
-- node frozen mid-pass cannot hold the pool): refuses this node's waiters the pool can never grant,
-- grants this node's waiters while one of them heads the queue and fits, and reports the positions that
-- moved. p_sessions maps this node's connections (owner) to their session; a connection without one gets
-- one. Returns {total, refused: [waiter], granted: [{waiter, lease}], positions: [{waiter, position}],
-- sessions: {owner: session}}.
CREATE OR REPLACE FUNCTION lv_license_drain(p_account text, p_feature text, p_node text, p_ttl float8, p_dead float8,
  p_sessions jsonb, p_keep float8 DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_total integer;
  v_used integer;
  v_refused jsonb := '[]';
  v_granted jsonb := '[]';
  v_positions jsonb;
  v_sessions jsonb := '{}';
  v_session text;
  v_head lv_license_waiters;
  v_lease lv_license_leases;
  v_owner text;
BEGIN
  -- The sessions of this node's waiters here, in the order a batch locks sessions (by id), before the pool:
  -- a session is never locked while the pool is held (a batch holds its sessions while it waits for the pool).
  FOR v_owner, v_session IN
    SELECT o.owner, coalesce(p_sessions ->> o.owner, p_node || '/' || gen_random_uuid()::text) AS session
    FROM (SELECT DISTINCT owner::text AS owner FROM lv_license_waiters
      WHERE node = p_node AND account = p_account AND feature = p_feature) o
    ORDER BY 2 LOOP
    v_sessions := v_sessions || jsonb_build_object(v_owner, lv_license_session(v_session, p_node, p_ttl, p_keep));
  END LOOP;
  SELECT total INTO v_total FROM lv_license_pools WHERE account = p_account AND feature = p_feature FOR UPDATE;
  WITH gone AS (
    DELETE FROM lv_license_waiters WHERE node = p_node AND account = p_account AND feature = p_feature
      AND count > coalesce(v_total, 0) RETURNING *
  )
  SELECT coalesce(jsonb_agg(lv_license_waiter_json(g::lv_license_waiters) ORDER BY g.seq), '[]') INTO v_refused
    FROM gone g;
  v_used := lv_license_used(p_account, p_feature);
  LOOP
    SELECT * INTO v_head FROM lv_license_waiters w
      WHERE w.account = p_account AND w.feature = p_feature AND w.deadline > now()
        AND (w.node = p_node OR EXISTS (SELECT 1 FROM lv_license_nodes n
          WHERE n.node = w.node AND n.seen_at > now() - p_dead * interval '1 millisecond'))
      ORDER BY w.seq LIMIT 1;
    -- Another node's waiter is first: that node grants it (it hears of the change); FIFO holds.
    EXIT WHEN NOT FOUND OR v_head.node <> p_node OR v_used + v_head.count > coalesce(v_total, 0);
    -- The id's lock, as an acquire takes it, before the waiter's row: an acquire of this id under another
    -- type waits for the lease this makes, and answers "conflict" (not as if the id were new).
    PERFORM pg_advisory_xact_lock(hashtext(p_account), hashtext(v_head.id));
    SELECT * INTO v_head FROM lv_license_waiters WHERE seq = v_head.seq FOR UPDATE;
    CONTINUE WHEN NOT FOUND; -- cancelled or timed out meanwhile: the next head
    DELETE FROM lv_license_waiters WHERE seq = v_head.seq;
    v_session := v_sessions ->> v_head.owner::text;
    IF v_session IS NULL THEN
      -- A waiter that queued after the sessions were made (rare): as before, under the pool's lock.
      v_session := lv_license_session(coalesce(p_sessions ->> v_head.owner::text,
        p_node || '/' || gen_random_uuid()::text), p_node, p_ttl, NULL, true);
    END IF;
    v_session := lv_license_live_session(v_session, p_node, p_ttl, p_keep);
    v_sessions := v_sessions || jsonb_build_object(v_head.owner::text, v_session);
    INSERT INTO lv_license_leases (account, id, feature, count, granted_at, expires_at, node, owner, session)
      VALUES (p_account, v_head.id, p_feature, v_head.count, clock_timestamp(),
        clock_timestamp() + p_ttl * interval '1 millisecond', p_node, v_head.owner, v_session)
      ON CONFLICT (account, id) DO NOTHING RETURNING * INTO v_lease;
    IF NOT FOUND THEN
      -- The id is a lease already (which this waiter cannot merge into): it is refused, not merged.
      v_refused := v_refused || jsonb_build_array(lv_license_waiter_json(v_head));
      CONTINUE;
    END IF;
    v_used := v_used + v_head.count;
    v_granted := v_granted || jsonb_build_array(jsonb_build_object('waiter', lv_license_waiter_json(v_head),
      'lease', lv_license_lease_json(v_lease, (SELECT expires_at FROM lv_license_sessions WHERE id = v_session))));
  END LOOP;
  -- The exact count, and whether anyone still waits, go back to the pool's row ("Exactness", MIGRATION_3).
  IF v_total IS NOT NULL THEN
    UPDATE lv_license_pools SET used = v_used,
        waiting = EXISTS (SELECT 1 FROM lv_license_waiters WHERE account = p_account AND feature = p_feature)
      WHERE account = p_account AND feature = p_feature;
  END IF;
  WITH ranked AS (
    SELECT w.seq, w.node, row_number() OVER (ORDER BY w.seq)::integer AS position FROM lv_license_waiters w
    WHERE w.account = p_account AND w.feature = p_feature AND w.deadline > now()
      AND (w.node = p_node OR EXISTS (SELECT 1 FROM lv_license_nodes n
        WHERE n.node = w.node AND n.seen_at > now() - p_dead * interval '1 millisecond'))
  ), moved AS (
    UPDATE lv_license_waiters w SET reported = ranked.position FROM ranked
    WHERE w.seq = ranked.seq AND ranked.node = p_node AND w.reported <> ranked.position
    RETURNING w.*, ranked.position
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object('waiter', lv_license_waiter_json(ROW(m.seq, m.account, m.id,
      m.feature, m.count, m.node, m.owner, m.request_id, m.deadline, m.reported)::lv_license_waiters),
      'position', m.position) ORDER BY m.seq), '[]') INTO v_positions FROM moved m;
  IF jsonb_array_length(v_granted) > 0 THEN
    PERFORM lv_license_assert_alive((SELECT array_agg(DISTINCT g -> 'lease' ->> 'session')
      FROM jsonb_array_elements(v_granted) g));
  END IF;
  RETURN jsonb_build_object('total', v_total, 'refused', v_refused, 'granted', v_granted,
    'positions', v_positions, 'sessions', v_sessions);
END $$;

-- A heartbeat: extends the connection's session (one row, however many leases it holds) and moves to it
-- the listed leases held through another session that is still alive (a reconnect, another node), each
-- with a new epoch. Returns {session, renewed: [ids], moved: {id: epoch}, expiresAt}.
CREATE OR REPLACE FUNCTION lv_license_renew(p_account text, p_ids text[], p_session text, p_node text, p_owner integer,
  p_ttl float8) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_session text;
  v_moved jsonb;
  v_renewed text[];
BEGIN
  v_session := lv_license_session(p_session, p_node, p_ttl);
  -- The listed leases held through another session (normally none: a heartbeat names the leases of its own
  -- connection): their sessions first, in id order, as every writer takes sessions before pools and lease
  -- rows; then the leases, so that one a reclaim is moving right now is seen where it went.
  PERFORM 1 FROM lv_license_sessions s
    WHERE s.id IN (SELECT l.session FROM lv_license_leases l
        WHERE l.account = p_account AND l.id = ANY (p_ids) AND l.session <> v_session)
      AND s.expires_at > clock_timestamp()
    ORDER BY s.id FOR NO KEY UPDATE;
  PERFORM 1 FROM lv_license_leases
    WHERE account = p_account AND id = ANY (p_ids) AND session <> v_session ORDER BY id FOR UPDATE;
  WITH alive AS (
    SELECT s.id FROM lv_license_sessions s
    WHERE s.id IN (SELECT l.session FROM lv_license_leases l
        WHERE l.account = p_account AND l.id = ANY (p_ids) AND l.session <> v_session)
      AND s.expires_at > clock_timestamp()
    ORDER BY s.id FOR NO KEY UPDATE OF s
  ), moved AS (
    UPDATE lv_license_leases l SET session = v_session, node = p_node, owner = p_owner, epoch = l.epoch + 1,
        expires_at = clock_timestamp() + p_ttl * interval '1 millisecond'
      FROM alive WHERE l.session = alive.id AND l.account = p_account AND l.id = ANY (p_ids)
      RETURNING l.id, l.epoch
  )
  SELECT coalesce(jsonb_object_agg(m.id, m.epoch), '{}') INTO v_moved FROM moved m;
  -- Renewed: every listed lease alive now. That is one of this session, or one a reclaim moved elsewhere
  -- since (it lives there; in either order of the two, it is held).
  SELECT coalesce(array_agg(l.id), '{}') INTO v_renewed FROM lv_license_leases l
    JOIN lv_license_sessions s ON s.id = l.session
    WHERE l.account = p_account AND l.id = ANY (p_ids) AND s.expires_at > clock_timestamp();
  IF v_moved <> '{}' THEN
    PERFORM lv_license_assert_alive(ARRAY[v_session]);
  END IF;
  RETURN jsonb_build_object('session', v_session, 'renewed', to_jsonb(v_renewed), 'moved', v_moved,
    'expiresAt', (SELECT lv_license_ms(expires_at) FROM lv_license_sessions WHERE id = v_session));
END $$;
`;

/**
 * Schema 3 of the PostgreSQL store (schema.ts applies it): sessions, the live-lease view, and the functions
 * that make acquire, renew and release one round trip each.
 *
 * Liveness. A lease belongs to a session: one per client connection per node. The session's `expires_at`
 * is the lease's expiry, so a heartbeat renewing 10,000 seats updates one row. A session whose time has
 * come is dead for good: no statement extends it (each checks `expires_at > clock_timestamp()` on the row it
 * updates), and its connection gets a new session instead.
 *
 * Exactness. A grant reads a pool's seats in use from the pool's row (`used`, schema 5), under the row's
 * lock: never fewer than the seats held (every grant adds its seats under that lock; releases, sweeps and
 * revocations leave it high), so a grant that fits under it fits. When it says the pool is full, the grant
 * counts the seats exactly (`lv_license_used`) and writes the count back. The sessions that count takes
 * for dead it share-locks, so that none of them is renewed until the grant commits (a renewal of one
 * waits, re-reads it, and finds it dead); the sessions it counts as live are counted, which can only
 * over-count. A lease moves to another session (a reclaim, a renewal through a new connection) only while
 * its old session is alive and locked against such a grant.
 */
export const MIGRATION_3 = `
CREATE TABLE lv_license_sessions (
  id text PRIMARY KEY,
  node text NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX lv_license_sessions_node ON lv_license_sessions (node, expires_at);
CREATE INDEX lv_license_sessions_expires ON lv_license_sessions (expires_at);
ALTER TABLE lv_license_leases ADD COLUMN session text;
-- Leases of schema 2 each get a session of their own that lasts as long as they did.
INSERT INTO lv_license_sessions (id, node, expires_at)
  SELECT 'v2/' || account || '/' || id, node, expires_at FROM lv_license_leases;
UPDATE lv_license_leases SET session = 'v2/' || account || '/' || id;
ALTER TABLE lv_license_leases ALTER COLUMN session SET NOT NULL;
CREATE INDEX lv_license_leases_session ON lv_license_leases (session);
-- Every release deletes a row, and a grant sums its pool's rows, deleted ones not yet vacuumed included:
-- autovacuum comes after 10,000 deleted rows, not after a fifth of the table (docs/server.md, "Vacuum").
ALTER TABLE lv_license_leases SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
-- A request id is the client's: any safe integer.
ALTER TABLE lv_license_waiters ALTER COLUMN request_id TYPE bigint;
DROP INDEX lv_license_leases_node;
-- Leases one node took back that another holds the client's connection for: that node pushes
-- lease-revoked, then deletes the row.
CREATE TABLE lv_license_notices (
  seq bigserial PRIMARY KEY,
  node text NOT NULL,
  lease jsonb NOT NULL,
  code integer NOT NULL,
  message text NOT NULL
);
CREATE INDEX lv_license_notices_node ON lv_license_notices (node, seq);

-- The leases alive now, by the database's clock: what every count of seats in use is made of.
CREATE VIEW lv_license_live_leases AS
  SELECT l.account, l.id, l.feature, l.count, l.node, l.owner, l.epoch, l.session, l.granted_at, s.expires_at
  FROM lv_license_leases l JOIN lv_license_sessions s ON s.id = l.session
  WHERE s.expires_at > clock_timestamp();
${STORE_FUNCTIONS}`;

/**
 * Schema 5: a pool's row carries its seats in use (`used`: that many or more; NULL, not known: the next
 * grant counts them) and whether its queue may hold anyone (`waiting`: false only once a holder of the
 * pool's lock found it empty), which a grant reads instead of summing the pool's lease rows, so that its
 * cost does not grow with the seats held. A pool's leases are indexed by (feature, account), not
 * (account, ...): with an index that also starts with the account, the planner (guessing an account small,
 * as it does on a table not analyzed yet) read every lease of the account to release one. And the
 * functions again: lv_license_grant_alone is new, lv_license_batch takes a release's ids as a list.
 */
export const MIGRATION_5 = `
ALTER TABLE lv_license_pools ADD COLUMN used integer, ADD COLUMN waiting boolean NOT NULL DEFAULT true;
DROP INDEX lv_license_leases_pool;
CREATE INDEX lv_license_leases_pool ON lv_license_leases (feature, account);
${STORE_FUNCTIONS}`;
