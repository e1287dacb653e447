-- Snapshot generations that could not be read are set aside here, so
-- later saves (which prune old generations) never delete them.
CREATE TABLE snapshot_quarantine (
	session_id     TEXT NOT NULL,
	gen            BIGINT NOT NULL,
	epoch          BIGINT NOT NULL,
	data           BYTEA NOT NULL,
	written_at     BIGINT NOT NULL,
	quarantined_at BIGINT NOT NULL,
	reason         TEXT NOT NULL,
	PRIMARY KEY (session_id, gen)
);
