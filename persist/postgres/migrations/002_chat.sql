-- "user" is a reserved word in PostgreSQL: the column is user_name.
CREATE TABLE chat (
	seq       BIGSERIAL PRIMARY KEY,
	room      TEXT NOT NULL,
	user_name TEXT NOT NULL,
	text      TEXT NOT NULL,
	at        BIGINT NOT NULL
);
CREATE INDEX chat_room ON chat(room, seq);
