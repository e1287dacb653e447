-- nodes list (issue 10): a node that shut down cleanly says so in its last
-- heartbeat, so operators see "stopped" at once, not "draining" until its
-- heartbeat is 1.5 lease TTLs old.
ALTER TABLE nodes ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;
