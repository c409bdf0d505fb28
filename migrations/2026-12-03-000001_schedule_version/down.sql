ALTER TABLE documents DROP CONSTRAINT documents_scheduled_publish_version;
ALTER TABLE documents DROP COLUMN scheduled_publish_version;
