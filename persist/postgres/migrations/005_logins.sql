-- HTTP login sessions and one-time links (SPEC 9). Only the SHA-256 of a token is kept.
CREATE TABLE web_logins (
	hash       TEXT PRIMARY KEY,
	user_name  TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL,
	idle_until BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	remote     TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX web_logins_user ON web_logins(user_name, created_at);

CREATE TABLE web_links (
	hash       TEXT PRIMARY KEY,
	user_name  TEXT NOT NULL,
	session_id TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
