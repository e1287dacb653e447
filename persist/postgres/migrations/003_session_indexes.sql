CREATE INDEX sessions_owner_state ON sessions(owner, state);
CREATE INDEX sessions_state_detached ON sessions(state, detached_at);
CREATE INDEX users_role ON users(role);
