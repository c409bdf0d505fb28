-- Beacon's content model.
--
-- Every content item is a *document* with a stable id and a chain of immutable
-- *versions* (JSON snapshots). A document points at its current draft version
-- and, once published, at its published version. Relations inside snapshots
-- point at documents, never at versions, so publishing linked items in any
-- order keeps every link.
--
-- Reading JSON snapshots is too slow for filters and facets, so each document
-- is also *projected* into relational tables, once per stage:
--   'published' — what the public sees (the published version);
--   'draft'     — the current draft of every live document, for preview.
-- The projections are derived data: they are rebuilt from a snapshot whenever a
-- pointer moves, which is why their rows may be deleted and re-inserted while
-- document ids never change.

CREATE TABLE seed_runs (
    id uuid PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    dry_run boolean NOT NULL DEFAULT false,
    outcome text NOT NULL DEFAULT 'running'
        CHECK (outcome IN ('running', 'succeeded', 'failed')),
    -- [{"path": …, "sha256": …}] in load order
    files jsonb NOT NULL DEFAULT '[]',
    -- {"resource": {"created": n, "updated": n, "unchanged": n}, …}
    counts jsonb NOT NULL DEFAULT '{}',
    error text,
    CHECK ((outcome = 'running') = (finished_at IS NULL))
);

CREATE TABLE documents (
    id uuid PRIMARY KEY,
    kind text NOT NULL
        CHECK (kind IN ('topic', 'resource_type', 'tag', 'resource', 'module')),
    slug text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    -- The identity a seed job recognizes the item by (e.g. normalized title and
    -- year for resources), so re-running a seed updates instead of duplicating.
    seed_key text,
    status text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'in_review', 'changes_requested', 'approved', 'published', 'archived')),
    draft_version integer NOT NULL CHECK (draft_version > 0),
    published_version integer CHECK (published_version > 0 AND published_version <= draft_version),
    first_published_at timestamptz,
    published_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, slug),
    UNIQUE (kind, seed_key),
    UNIQUE (id, kind),
    CHECK ((published_version IS NULL) = (published_at IS NULL)),
    CHECK (status <> 'published' OR published_version IS NOT NULL)
);

CREATE TABLE document_versions (
    document_id uuid NOT NULL REFERENCES documents (id),
    version integer NOT NULL CHECK (version > 0),
    content jsonb NOT NULL CHECK (jsonb_typeof(content) = 'object'),
    -- Who wrote it: 'seed:<run id>' for seed jobs; users come with identity.
    author text NOT NULL CHECK (author <> ''),
    seed_run_id uuid REFERENCES seed_runs (id),
    message text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, version)
);

-- Versions are history: once written they never change and never go away.
CREATE FUNCTION forbid_version_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'document versions are immutable' USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER document_versions_immutable
    BEFORE UPDATE OR DELETE ON document_versions
    FOR EACH ROW EXECUTE FUNCTION forbid_version_rewrite();

-- Pointers must name versions that exist. Deferred, because a new document and
-- its first version are written in one transaction.
ALTER TABLE documents
    ADD CONSTRAINT documents_draft_version_fkey FOREIGN KEY (id, draft_version)
        REFERENCES document_versions (document_id, version) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT documents_published_version_fkey FOREIGN KEY (id, published_version)
        REFERENCES document_versions (document_id, version) DEFERRABLE INITIALLY DEFERRED;

-- ---------------------------------------------------------------------------
-- Projections, one row per (stage, document).

CREATE TABLE topics (
    stage text NOT NULL CHECK (stage IN ('published', 'draft')),
    id uuid NOT NULL,
    version integer NOT NULL,
    slug text NOT NULL,
    name text NOT NULL CHECK (btrim(name) <> ''),
    description text NOT NULL DEFAULT '',
    aliases text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (stage, id),
    UNIQUE (stage, slug),
    FOREIGN KEY (id, version) REFERENCES document_versions (document_id, version)
);

CREATE TABLE resource_types (
    stage text NOT NULL CHECK (stage IN ('published', 'draft')),
    id uuid NOT NULL,
    version integer NOT NULL,
    slug text NOT NULL,
    name text NOT NULL CHECK (btrim(name) <> ''),
    PRIMARY KEY (stage, id),
    UNIQUE (stage, slug),
    FOREIGN KEY (id, version) REFERENCES document_versions (document_id, version)
);

CREATE TABLE tags (
    stage text NOT NULL CHECK (stage IN ('published', 'draft')),
    id uuid NOT NULL,
    version integer NOT NULL,
    slug text NOT NULL,
    name text NOT NULL CHECK (btrim(name) <> ''),
    PRIMARY KEY (stage, id),
    UNIQUE (stage, slug),
    FOREIGN KEY (id, version) REFERENCES document_versions (document_id, version)
);

CREATE TABLE resources (
    stage text NOT NULL CHECK (stage IN ('published', 'draft')),
    id uuid NOT NULL,
    version integer NOT NULL,
    slug text NOT NULL,
    title text NOT NULL CHECK (btrim(title) <> ''),
    year integer CHECK (year BETWEEN 1800 AND 2200),
    url text CHECK (url ~ '^https?://'),
    publisher text,
    summary text,
    published_at timestamptz,
    -- Relations, in display order. They point at documents; a target that is
    -- not visible in the stage simply does not show (reads join it against
    -- the target's projection), so nothing is lost when linked items are
    -- published in any order. Arrays rather than link tables: order comes
    -- free, and bulk loads write one row per resource instead of five.
    type_ids uuid[] NOT NULL DEFAULT '{}' CHECK (array_position(type_ids, NULL) IS NULL),
    topic_ids uuid[] NOT NULL DEFAULT '{}' CHECK (array_position(topic_ids, NULL) IS NULL),
    tag_ids uuid[] NOT NULL DEFAULT '{}' CHECK (array_position(tag_ids, NULL) IS NULL),
    -- Full-text search: title (weight A), topic and type names (B), summary
    -- and publisher (C), computed when the row is projected.
    search_vector tsvector NOT NULL DEFAULT ''::tsvector,
    PRIMARY KEY (stage, id),
    UNIQUE (stage, slug),
    FOREIGN KEY (id, version) REFERENCES document_versions (document_id, version)
);

CREATE TABLE modules (
    stage text NOT NULL CHECK (stage IN ('published', 'draft')),
    id uuid NOT NULL,
    version integer NOT NULL,
    slug text NOT NULL,
    title text NOT NULL CHECK (btrim(title) <> ''),
    -- Points at the topic *document*; whether it shows depends on the stage.
    topic_id uuid REFERENCES documents (id),
    intro text NOT NULL DEFAULT '',
    hero_image_alt text,
    resources_heading text,
    disclaimer text,
    source_file text,
    source_checksum text,
    -- In page order; see the note on resources.type_ids.
    resource_ids uuid[] NOT NULL DEFAULT '{}' CHECK (array_position(resource_ids, NULL) IS NULL),
    tag_ids uuid[] NOT NULL DEFAULT '{}' CHECK (array_position(tag_ids, NULL) IS NULL),
    -- Full-text search: title (A), topic name (B), intro (C).
    search_vector tsvector NOT NULL DEFAULT ''::tsvector,
    PRIMARY KEY (stage, id),
    UNIQUE (stage, slug),
    FOREIGN KEY (id, version) REFERENCES document_versions (document_id, version)
);

-- Keyset pagination in each sort order partners can ask for.
CREATE INDEX resources_title_order ON resources (stage, title, id);
CREATE INDEX resources_year_order ON resources (stage, (coalesce(year, 0)), id);
CREATE INDEX resources_published_order ON resources (stage, published_at, id);
CREATE INDEX modules_title_order ON modules (stage, title, id);

-- "Resources of this topic / type / tag", "modules listing this resource".
-- A larger pending list (in kB) makes bulk loads merge into the GIN indexes
-- in fewer, bigger steps: about twice as fast for a 100,000-resource seed.
CREATE INDEX resources_type_ids ON resources USING gin (type_ids) WITH (gin_pending_list_limit = 65536);
CREATE INDEX resources_topic_ids ON resources USING gin (topic_ids) WITH (gin_pending_list_limit = 65536);
CREATE INDEX resources_tag_ids ON resources USING gin (tag_ids) WITH (gin_pending_list_limit = 65536);
CREATE INDEX modules_resource_ids ON modules USING gin (resource_ids);
CREATE INDEX modules_tag_ids ON modules USING gin (tag_ids);
CREATE INDEX modules_topic ON modules (stage, topic_id);

CREATE INDEX resources_search ON resources USING gin (search_vector) WITH (gin_pending_list_limit = 65536);
CREATE INDEX modules_search ON modules USING gin (search_vector);
