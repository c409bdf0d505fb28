DO $$
DECLARE
    projection text;
    operation text;
BEGIN
    FOREACH projection IN ARRAY ARRAY['topics', 'resource_types', 'tags', 'resources', 'modules'] LOOP
        FOREACH operation IN ARRAY ARRAY['insert', 'update', 'delete', 'truncate'] LOOP
            EXECUTE format('DROP TRIGGER %I ON %I', projection || '_published_' || operation, projection);
        END LOOP;
    END LOOP;
END;
$$;
DROP FUNCTION announce_published_rows();
DROP FUNCTION announce_published_update();
DROP FUNCTION announce_published_truncate();
