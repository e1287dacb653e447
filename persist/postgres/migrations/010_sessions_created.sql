-- sessions list (issue 10): listings of every session read this index in
-- its order rather than sorting the whole table.
CREATE INDEX sessions_created ON sessions(created_at, id);
