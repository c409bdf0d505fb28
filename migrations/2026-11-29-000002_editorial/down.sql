DROP TABLE audit_log;
DROP FUNCTION forbid_audit_rewrite();
DROP TABLE comments;
ALTER TABLE document_versions DROP COLUMN author_id;
DROP INDEX documents_scheduled_unpublish;
DROP INDEX documents_scheduled_publish;
ALTER TABLE documents
    DROP COLUMN scheduled_unpublish_at,
    DROP COLUMN scheduled_publish_at,
    DROP COLUMN owner_id;
