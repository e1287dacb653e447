-- Cluster contract (SPEC 6). A session's lease lives on its row, so a fenced
-- write checks it in the same statement. Store-clock times come from
-- termhost_now_ms(): the database's clock_timestamp() in ms, so every node
-- judges expiry by one clock. lease_expires is 0 when released (owner '').
CREATE FUNCTION termhost_now_ms() RETURNS BIGINT LANGUAGE sql VOLATILE
	AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;

ALTER TABLE sessions ADD COLUMN lease_node TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN lease_boot TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN lease_expires BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
-- RenewLeases touches one node's leases in one statement: index them.
CREATE INDEX sessions_lease ON sessions(lease_node, lease_boot) WHERE lease_node <> '';
-- A renewal writes only lease_expires, which no index holds: with room left
-- on each page the new row versions are HOT (heap-only, no index entries),
-- which made renewing 10,000 leases several times cheaper than full pages.
ALTER TABLE sessions SET (fillfactor = 70);

CREATE TABLE nodes (
	id         TEXT PRIMARY KEY,
	boot       TEXT NOT NULL,
	addr       TEXT NOT NULL,
	started_at BIGINT NOT NULL,
	seen_at    BIGINT NOT NULL,
	draining   BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE node_requests (
	id         BIGSERIAL PRIMARY KEY,
	node       TEXT NOT NULL,
	kind       TEXT NOT NULL,
	session_id TEXT NOT NULL,
	actor      TEXT NOT NULL,
	remote     TEXT NOT NULL,
	detail     TEXT NOT NULL,
	at         BIGINT NOT NULL
);
CREATE INDEX node_requests_node ON node_requests(node, id);

CREATE TABLE secrets (
	name       TEXT PRIMARY KEY,
	value      BYTEA NOT NULL,
	created_at BIGINT NOT NULL
);
