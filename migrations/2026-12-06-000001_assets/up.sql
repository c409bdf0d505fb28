-- Assets: files editors upload (images, PDFs, videos) as documents with
-- drafts, versions and the workflow like every other kind. A version names
-- its bytes by SHA-256; the bytes live in the media store, never here, and
-- are never deleted while a version names them (versions are never deleted).

ALTER TABLE documents DROP CONSTRAINT documents_kind_check;
ALTER TABLE documents ADD CONSTRAINT documents_kind_check
    CHECK (kind IN ('topic', 'resource_type', 'tag', 'resource', 'module', 'asset'));

CREATE TABLE assets (
    stage text NOT NULL CHECK (stage IN ('published', 'draft')),
    id uuid NOT NULL,
    version integer NOT NULL,
    slug text NOT NULL,
    title text NOT NULL CHECK (btrim(title) <> ''),
    alt text,
    caption text,
    credit text,
    -- Thousandths of the width and height from the top left.
    focal_x integer CHECK (focal_x BETWEEN 0 AND 1000),
    focal_y integer CHECK (focal_y BETWEEN 0 AND 1000),
    file_sha256 text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    mime_type text NOT NULL,
    size bigint NOT NULL CHECK (size >= 0),
    width integer CHECK (width > 0),
    height integer CHECK (height > 0),
    blurhash text,
    filename text,
    PRIMARY KEY (stage, id),
    UNIQUE (stage, slug),
    FOREIGN KEY (id, version) REFERENCES document_versions (document_id, version)
);

-- Links to assets, like every relation: document ids, joined against the
-- same stage, so an unpublished asset simply does not show.
ALTER TABLE modules ADD COLUMN hero_image_id uuid;
ALTER TABLE resources
    ADD COLUMN thumbnail_id uuid,
    ADD COLUMN file_ids uuid[] NOT NULL DEFAULT '{}' CHECK (array_position(file_ids, NULL) IS NULL);
