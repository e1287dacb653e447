-- sessions list (issue 10): the listing walks this index in its order
-- instead of sorting every row (0.56 s → 0.29 s at 100,000 sessions).
CREATE INDEX sessions_created ON sessions(created_at, id);
