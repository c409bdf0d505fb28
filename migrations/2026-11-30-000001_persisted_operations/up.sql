-- Operations registered by operators (`beacon persisted add`): clients may
-- run them by hash, and in allow-list mode anonymous clients may run
-- nothing else. Automatic persisted queries sent by clients are not kept
-- here: they are a per-process cache, so strangers cannot fill a table.
CREATE TABLE persisted_operations (
    -- Lowercase hex SHA-256 of the document's exact text.
    sha256 TEXT PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    document TEXT NOT NULL,
    -- Where it came from (a file name), for people reading the list.
    label TEXT NOT NULL,
    added_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
