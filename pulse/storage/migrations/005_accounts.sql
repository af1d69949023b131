-- 005: users, project memberships with roles, browser sessions
-- (docs/api.md §Projects and roles, §Dashboard sessions). Passwords are argon2id hashes (PHC strings); session tokens are stored as
-- their SHA-256 only, so a database dump holds nothing that can be replayed as a cookie.

CREATE TABLE pulse.users (
    id             uuid PRIMARY KEY,
    email          text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash  text,                       -- argon2id PHC string; NULL: cannot sign in
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_idx ON pulse.users (lower(email));

CREATE TABLE pulse.memberships (
    project_id  uuid NOT NULL REFERENCES pulse.projects (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES pulse.users (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('admin', 'user')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX memberships_user_idx ON pulse.memberships (user_id, created_at);

CREATE TABLE pulse.auth_sessions (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES pulse.users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,         -- sha256 of the cookie value
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    ip_address  text,
    user_agent  text
);
CREATE INDEX auth_sessions_user_idx ON pulse.auth_sessions (user_id);
CREATE INDEX auth_sessions_expiry_idx ON pulse.auth_sessions (expires_at);
