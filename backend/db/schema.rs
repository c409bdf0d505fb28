// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    document_versions (document_id, version) {
        document_id -> Uuid,
        version -> Int4,
        content -> Jsonb,
        author -> Text,
        seed_run_id -> Nullable<Uuid>,
        message -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    documents (id) {
        id -> Uuid,
        kind -> Text,
        slug -> Text,
        seed_key -> Nullable<Text>,
        status -> Text,
        draft_version -> Int4,
        published_version -> Nullable<Int4>,
        first_published_at -> Nullable<Timestamptz>,
        published_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    modules (stage, id) {
        stage -> Text,
        id -> Uuid,
        version -> Int4,
        slug -> Text,
        title -> Text,
        topic_id -> Nullable<Uuid>,
        intro -> Text,
        hero_image_alt -> Nullable<Text>,
        resources_heading -> Nullable<Text>,
        disclaimer -> Nullable<Text>,
        source_file -> Nullable<Text>,
        source_checksum -> Nullable<Text>,
        resource_ids -> Array<Nullable<Uuid>>,
        tag_ids -> Array<Nullable<Uuid>>,
        search_vector -> Tsvector,
    }
}

diesel::table! {
    resource_types (stage, id) {
        stage -> Text,
        id -> Uuid,
        version -> Int4,
        slug -> Text,
        name -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    resources (stage, id) {
        stage -> Text,
        id -> Uuid,
        version -> Int4,
        slug -> Text,
        title -> Text,
        year -> Nullable<Int4>,
        url -> Nullable<Text>,
        publisher -> Nullable<Text>,
        summary -> Nullable<Text>,
        published_at -> Nullable<Timestamptz>,
        type_ids -> Array<Nullable<Uuid>>,
        topic_ids -> Array<Nullable<Uuid>>,
        tag_ids -> Array<Nullable<Uuid>>,
        search_vector -> Tsvector,
    }
}

diesel::table! {
    seed_runs (id) {
        id -> Uuid,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        dry_run -> Bool,
        outcome -> Text,
        files -> Jsonb,
        counts -> Jsonb,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    tags (stage, id) {
        stage -> Text,
        id -> Uuid,
        version -> Int4,
        slug -> Text,
        name -> Text,
    }
}

diesel::table! {
    topics (stage, id) {
        stage -> Text,
        id -> Uuid,
        version -> Int4,
        slug -> Text,
        name -> Text,
        description -> Text,
        aliases -> Array<Nullable<Text>>,
    }
}

diesel::joinable!(document_versions -> seed_runs (seed_run_id));
diesel::joinable!(modules -> documents (topic_id));

diesel::allow_tables_to_appear_in_same_query!(
    document_versions,
    documents,
    modules,
    resource_types,
    resources,
    seed_runs,
    tags,
    topics,
);
