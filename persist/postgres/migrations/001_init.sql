-- PostgreSQL dialect of persist/sqlite/migrations/001_init.sql. Times the
-- caller gives are BIGINT milliseconds since 1970 (0: unset), as in SQLite;
-- lists (keys, apps) are JSON text, so they round-trip byte for byte.
CREATE TABLE users (
	name          TEXT PRIMARY KEY,
	role          TEXT NOT NULL,
	keys          TEXT NOT NULL DEFAULT '[]',
	password_hash TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
	id            TEXT PRIMARY KEY,
	owner         TEXT NOT NULL,
	name          TEXT NOT NULL,
	state         TEXT NOT NULL,
	node          TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL,
	last_input_at BIGINT NOT NULL,
	ended_at      BIGINT NOT NULL DEFAULT 0,
	end_reason    TEXT NOT NULL DEFAULT '',
	detached_at   BIGINT NOT NULL DEFAULT 0,
	epoch         BIGINT NOT NULL DEFAULT 0,
	apps          TEXT NOT NULL DEFAULT '[]'
);
-- A name is unique among a user's sessions that have not ended.
CREATE UNIQUE INDEX sessions_owner_name ON sessions(owner, name) WHERE state <> 'ended';
CREATE INDEX sessions_state ON sessions(state);

CREATE TABLE session_events (
	seq        BIGSERIAL PRIMARY KEY,
	session_id TEXT NOT NULL,
	at         BIGINT NOT NULL,
	kind       TEXT NOT NULL,
	actor      TEXT NOT NULL,
	remote     TEXT NOT NULL,
	detail     TEXT NOT NULL
);
CREATE INDEX session_events_session ON session_events(session_id, seq);

CREATE TABLE snapshots (
	session_id TEXT NOT NULL,
	gen        BIGINT NOT NULL,
	epoch      BIGINT NOT NULL,
	data       BYTEA NOT NULL,
	written_at BIGINT NOT NULL,
	PRIMARY KEY (session_id, gen)
);

CREATE TABLE last_workspaces (
	owner TEXT PRIMARY KEY,
	data  BYTEA NOT NULL
);

CREATE TABLE documents (
	id         TEXT PRIMARY KEY,
	owner      TEXT NOT NULL,
	title      TEXT NOT NULL,
	body       TEXT NOT NULL,
	version    BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX documents_owner ON documents(owner);

CREATE TABLE audit (
	seq    BIGSERIAL PRIMARY KEY,
	at     BIGINT NOT NULL,
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	detail TEXT NOT NULL
);
