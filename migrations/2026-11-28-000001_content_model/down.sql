DROP TABLE modules;
DROP TABLE resources;
DROP TABLE tags;
DROP TABLE resource_types;
DROP TABLE topics;
ALTER TABLE documents
    DROP CONSTRAINT documents_draft_version_fkey,
    DROP CONSTRAINT documents_published_version_fkey;
DROP TRIGGER document_versions_immutable ON document_versions;
DROP FUNCTION forbid_version_rewrite();
DROP TABLE document_versions;
DROP TABLE documents;
DROP TABLE seed_runs;
