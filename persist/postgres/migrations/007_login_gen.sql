-- The login generation of a user (SPEC 10): web_login client seals carry it; "sign out everywhere" bumps it,
-- ending every sealed login cookie of the user. It only grows.
ALTER TABLE users ADD COLUMN login_gen BIGINT NOT NULL DEFAULT 0;
