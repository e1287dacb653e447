-- History rows belong to a session (issue 8: an event appended while
-- DeleteUser ran left an orphan row). The foreign key makes the insert take
-- a key-share lock on the session row, so an append racing a delete either
-- lands before it (and is removed with it) or fails with 23503, which the
-- store maps to ErrNotFound.
DELETE FROM session_events e WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = e.session_id);
ALTER TABLE session_events ADD CONSTRAINT session_events_session_fk
	FOREIGN KEY (session_id) REFERENCES sessions(id) ON DELETE CASCADE;
