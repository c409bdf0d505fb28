ALTER TABLE resources DROP COLUMN file_ids, DROP COLUMN thumbnail_id;
ALTER TABLE modules DROP COLUMN hero_image_id;
DROP TABLE assets;
ALTER TABLE documents DROP CONSTRAINT documents_kind_check;
ALTER TABLE documents ADD CONSTRAINT documents_kind_check
    CHECK (kind IN ('topic', 'resource_type', 'tag', 'resource', 'module'));
