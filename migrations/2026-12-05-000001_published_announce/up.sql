-- The published-answer cache: every server keeps public answers until
-- published content changes. Whatever writes a published row (publish,
-- unpublish, archive, revert, the scheduler, a seed job, an operator with
-- psql) announces it on `beacon_published` when its transaction commits,
-- so no code path can forget to. Statement triggers with transition tables:
-- a seed job writing 100,000 rows costs one check per statement, and draft
-- saves (the common write) announce nothing.
CREATE FUNCTION announce_published_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_rows WHERE stage = 'published') THEN
        PERFORM pg_notify('beacon_published', '');
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION announce_published_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_rows WHERE stage = 'published')
        OR EXISTS (SELECT 1 FROM former_rows WHERE stage = 'published') THEN
        PERFORM pg_notify('beacon_published', '');
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION announce_published_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('beacon_published', '');
    RETURN NULL;
END;
$$;

DO $$
DECLARE
    projection text;
BEGIN
    FOREACH projection IN ARRAY ARRAY['topics', 'resource_types', 'tags', 'resources', 'modules'] LOOP
        EXECUTE format('CREATE TRIGGER %1$I_published_insert AFTER INSERT ON %1$I
            REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT
            EXECUTE FUNCTION announce_published_rows()', projection);
        EXECUTE format('CREATE TRIGGER %1$I_published_update AFTER UPDATE ON %1$I
            REFERENCING OLD TABLE AS former_rows NEW TABLE AS changed_rows FOR EACH STATEMENT
            EXECUTE FUNCTION announce_published_update()', projection);
        EXECUTE format('CREATE TRIGGER %1$I_published_delete AFTER DELETE ON %1$I
            REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT
            EXECUTE FUNCTION announce_published_rows()', projection);
        EXECUTE format('CREATE TRIGGER %1$I_published_truncate AFTER TRUNCATE ON %1$I
            FOR EACH STATEMENT EXECUTE FUNCTION announce_published_truncate()', projection);
    END LOOP;
END;
$$;
