-- PutSnapshot in one round trip (it was five: begin, lock and check,
-- insert, prune, commit). Each statement inside takes a fresh snapshot
-- (READ COMMITTED), so the generation is computed after the row lock is
-- held and sees every earlier writer of the session. o_found is false for
-- no such session; otherwise o_epoch is the session's epoch and o_gen the
-- new generation, NULL when the fence refused the write (epoch <> p_epoch).
CREATE FUNCTION termhost_put_snapshot(p_id TEXT, p_epoch BIGINT, p_data BYTEA, p_keep BIGINT,
	OUT o_found BOOLEAN, OUT o_epoch BIGINT, OUT o_gen BIGINT)
LANGUAGE plpgsql AS $$
BEGIN
	SELECT s.epoch INTO o_epoch FROM sessions s WHERE s.id = p_id FOR NO KEY UPDATE;
	o_found := FOUND;
	IF NOT o_found OR o_epoch <> p_epoch THEN
		RETURN;
	END IF;
	-- Quarantined generations count too: a number is never given twice.
	o_gen := GREATEST(
		(SELECT COALESCE(MAX(x.gen), 0) FROM snapshots x WHERE x.session_id = p_id),
		(SELECT COALESCE(MAX(q.gen), 0) FROM snapshot_quarantine q WHERE q.session_id = p_id)) + 1;
	INSERT INTO snapshots(session_id, gen, epoch, data, written_at) VALUES (p_id, o_gen, p_epoch, p_data, termhost_now_ms());
	DELETE FROM snapshots x WHERE x.session_id = p_id AND x.gen <= o_gen - p_keep;
END
$$;
