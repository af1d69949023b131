-- 007: one-time dashboard login links (`pulse-bridge dashboard-login`): stored hashed, single
-- use, short-lived. Consuming one marks it used in the same statement that checks it.

CREATE TABLE pulse.login_links (
    token_hash  bytea PRIMARY KEY,             -- sha256 of the link's token
    user_id     uuid NOT NULL REFERENCES pulse.users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX login_links_expiry_idx ON pulse.login_links (expires_at);
