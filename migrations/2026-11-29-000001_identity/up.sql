-- Identities: people who sign in (users, with sessions) and programs that
-- call the API (API tokens). Secrets are never stored: sessions and tokens
-- keep only an HMAC-SHA-256 of their secret under a server key that lives
-- outside the database, and passwords only an Argon2id hash, so a dump of
-- these tables lets nobody in.

CREATE TABLE users (
    id uuid PRIMARY KEY,
    email text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
    display_name text NOT NULL CHECK (btrim(display_name) <> '' AND length(display_name) <= 200),
    role text NOT NULL CHECK (role IN ('partner', 'author', 'editor', 'publisher', 'admin')),
    password_hash text NOT NULL,
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);

-- Emails are unique whatever their case.
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));

CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id),
    secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at timestamptz,
    client_address text
);

CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE api_tokens (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
    role text NOT NULL CHECK (role IN ('partner', 'author', 'editor', 'publisher', 'admin')),
    secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
    -- Who created it: a user, or NULL for the command line (an operator).
    created_by uuid REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz
);

-- Failed sign-ins, per account (`account:<email>`) and per client address
-- (`address:<ip>`), for throttling. Rows older than the window are pruned as
-- new ones arrive.
CREATE TABLE login_failures (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX login_failures_subject ON login_failures (subject, failed_at);
