-- Cluster contract (SPEC 6). A session's lease lives on its row, so a fenced
-- write checks it in the same statement; lease_expires is ms of the store's
-- clock, 0 when released (owner columns '' then).
ALTER TABLE sessions ADD COLUMN lease_node TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN lease_boot TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN lease_expires INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
CREATE INDEX sessions_lease ON sessions(lease_node, lease_boot);

CREATE TABLE nodes (
	id         TEXT PRIMARY KEY,
	boot       TEXT NOT NULL,
	addr       TEXT NOT NULL,
	started_at INTEGER NOT NULL,
	seen_at    INTEGER NOT NULL,
	draining   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE node_requests (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	node       TEXT NOT NULL,
	kind       TEXT NOT NULL,
	session_id TEXT NOT NULL,
	actor      TEXT NOT NULL,
	remote     TEXT NOT NULL,
	detail     TEXT NOT NULL,
	at         INTEGER NOT NULL
);
CREATE INDEX node_requests_node ON node_requests(node, id);

CREATE TABLE secrets (
	name       TEXT PRIMARY KEY,
	value      BLOB NOT NULL,
	created_at INTEGER NOT NULL
);
