-- The editorial workflow: who owns a document, what is scheduled, who wrote
-- each version, comments, and the audit trail.

ALTER TABLE documents
    -- The user who created it (authors may edit only their own drafts);
    -- NULL for seeded content.
    ADD COLUMN owner_id uuid REFERENCES users (id),
    ADD COLUMN scheduled_publish_at timestamptz,
    ADD COLUMN scheduled_unpublish_at timestamptz;

-- The scheduler's queue: only documents with something due.
CREATE INDEX documents_scheduled_publish ON documents (scheduled_publish_at)
    WHERE scheduled_publish_at IS NOT NULL;
CREATE INDEX documents_scheduled_unpublish ON documents (scheduled_unpublish_at)
    WHERE scheduled_unpublish_at IS NOT NULL;

ALTER TABLE document_versions
    ADD COLUMN author_id uuid REFERENCES users (id);

CREATE TABLE comments (
    id uuid PRIMARY KEY,
    document_id uuid NOT NULL REFERENCES documents (id),
    -- The draft version the comment was made on.
    version integer NOT NULL,
    author_id uuid REFERENCES users (id),
    author text NOT NULL,
    body text NOT NULL CHECK (btrim(body) <> '' AND length(body) <= 10000),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX comments_document ON comments (document_id, created_at);

-- Every change, written in the same transaction as the change itself.
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    -- 'user:<id>', 'token:<id>', 'scheduler', 'seed:<run id>'
    actor text NOT NULL,
    actor_user_id uuid REFERENCES users (id),
    action text NOT NULL,
    document_id uuid REFERENCES documents (id),
    kind text,
    from_version integer,
    to_version integer,
    from_status text,
    to_status text,
    request_id text,
    detail jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_log_document ON audit_log (document_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);

CREATE FUNCTION forbid_audit_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION forbid_audit_rewrite();
