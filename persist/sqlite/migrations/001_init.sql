CREATE TABLE users (
	name          TEXT PRIMARY KEY,
	role          TEXT NOT NULL,
	keys          TEXT NOT NULL DEFAULT '[]',
	password_hash TEXT NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
	id            TEXT PRIMARY KEY,
	owner         TEXT NOT NULL,
	name          TEXT NOT NULL,
	state         TEXT NOT NULL,
	node          TEXT NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL,
	last_input_at INTEGER NOT NULL,
	ended_at      INTEGER NOT NULL DEFAULT 0,
	end_reason    TEXT NOT NULL DEFAULT '',
	detached_at   INTEGER NOT NULL DEFAULT 0,
	epoch         INTEGER NOT NULL DEFAULT 0,
	apps          TEXT NOT NULL DEFAULT '[]'
);
-- A name is unique among a user's sessions that have not ended.
CREATE UNIQUE INDEX sessions_owner_name ON sessions(owner, name) WHERE state <> 'ended';
CREATE INDEX sessions_state ON sessions(state);

CREATE TABLE session_events (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	session_id TEXT NOT NULL,
	at         INTEGER NOT NULL,
	kind       TEXT NOT NULL,
	actor      TEXT NOT NULL,
	remote     TEXT NOT NULL,
	detail     TEXT NOT NULL
);
CREATE INDEX session_events_session ON session_events(session_id, seq);

CREATE TABLE snapshots (
	session_id TEXT NOT NULL,
	gen        INTEGER NOT NULL,
	epoch      INTEGER NOT NULL,
	data       BLOB NOT NULL,
	written_at INTEGER NOT NULL,
	PRIMARY KEY (session_id, gen)
);

CREATE TABLE last_workspaces (
	owner TEXT PRIMARY KEY,
	data  BLOB NOT NULL
);

CREATE TABLE documents (
	id         TEXT PRIMARY KEY,
	owner      TEXT NOT NULL,
	title      TEXT NOT NULL,
	body       TEXT NOT NULL,
	version    INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX documents_owner ON documents(owner);

CREATE TABLE audit (
	seq    INTEGER PRIMARY KEY AUTOINCREMENT,
	at     INTEGER NOT NULL,
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	detail TEXT NOT NULL
);
