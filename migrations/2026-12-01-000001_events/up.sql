-- Events and webhooks: a transactional outbox. A change that partners must
-- hear about (publishing, unpublishing, archiving, a seed run) writes its
-- event here in the same transaction as the change itself, together with
-- one pending delivery per webhook subscribed to it; delivery workers in any
-- number of servers then claim deliveries with leases.

CREATE TABLE events (
    id uuid PRIMARY KEY,
    type text NOT NULL CHECK (type IN ('PUBLISHED', 'UNPUBLISHED', 'ARCHIVED', 'SEED_RUN')),
    occurred_at timestamptz NOT NULL DEFAULT now(),
    -- The JSON body sent to receivers, fixed when the event happens.
    payload jsonb NOT NULL
);

CREATE INDEX events_occurred ON events (occurred_at DESC, id DESC);

CREATE TABLE webhooks (
    id uuid PRIMARY KEY,
    url text NOT NULL CHECK (url ~ '^https?://'),
    -- Which event types it receives.
    events text[] NOT NULL CHECK (cardinality(events) > 0
        AND events <@ ARRAY['PUBLISHED', 'UNPUBLISHED', 'ARCHIVED', 'SEED_RUN']),
    -- The key deliveries are signed with: receivers hold the same one, so
    -- it is kept as given (a hash could not sign) and never shown again.
    secret text NOT NULL CHECK (length(secret) >= 16),
    description text NOT NULL DEFAULT '',
    enabled boolean NOT NULL DEFAULT true,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- A deleted webhook keeps its delivery history; it receives nothing.
    deleted_at timestamptz
);

CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    event_id uuid NOT NULL REFERENCES events (id),
    webhook_id uuid NOT NULL REFERENCES webhooks (id),
    -- PENDING until a 2xx answer (DELIVERED) or until it is given up (FAILED).
    state text NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A worker holding the delivery until then; a worker that dies leaves
    -- it to be claimed again once the lease runs out.
    leased_until timestamptz,
    -- 'redeliver' deliveries are asked for by an admin.
    reason text NOT NULL DEFAULT 'event' CHECK (reason IN ('event', 'redeliver')),
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);

-- The workers' queue: only what is still to be delivered.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE state = 'PENDING';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at DESC);

CREATE TABLE webhook_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id),
    attempted_at timestamptz NOT NULL DEFAULT now(),
    -- The receiver's HTTP status; NULL when no answer came.
    status_code integer,
    latency_ms integer NOT NULL,
    -- Why it failed without an answer (timeout, refused address...).
    error text,
    -- The start of the receiver's answer, for people debugging it.
    response_excerpt text
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- Live preview: every audited change to an item is announced on the
-- `beacon_content` channel when its transaction commits, to every server
-- sharing the database (LISTEN/NOTIFY). In a trigger, so no code path that
-- audits a change can forget to announce it.
CREATE FUNCTION announce_content_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('beacon_content', json_build_object(
        'id', NEW.document_id,
        'kind', NEW.kind,
        'action', NEW.action,
        'status', NEW.to_status,
        'version', NEW.to_version,
        'actor', NEW.actor,
        'at', NEW.at
    )::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER audit_log_announce
    AFTER INSERT ON audit_log
    FOR EACH ROW WHEN (NEW.document_id IS NOT NULL)
    EXECUTE FUNCTION announce_content_change();
