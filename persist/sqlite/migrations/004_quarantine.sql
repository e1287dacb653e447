-- Snapshot generations that could not be read are set aside here, so
-- later saves (which prune old generations) never delete them.
CREATE TABLE snapshot_quarantine (
	session_id     TEXT NOT NULL,
	gen            INTEGER NOT NULL,
	epoch          INTEGER NOT NULL,
	data           BLOB NOT NULL,
	written_at     INTEGER NOT NULL,
	quarantined_at INTEGER NOT NULL,
	reason         TEXT NOT NULL,
	PRIMARY KEY (session_id, gen)
);
