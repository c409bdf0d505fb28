// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    api_tokens (id) {
        id -> Uuid,
        name -> Text,
        role -> Text,
        secret_hash -> Bytea,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    assets (stage, id) {
        stage -> Text,
        id -> Uuid,
        version -> Int4,
        slug -> Text,
        title -> Text,
        alt -> Nullable<Text>,
        caption -> Nullable<Text>,
        credit -> Nullable<Text>,
        focal_x -> Nullable<Int4>,
        focal_y -> Nullable<Int4>,
        file_sha256 -> Text,
        mime_type -> Text,
        size -> Int8,
        width -> Nullable<Int4>,
        height -> Nullable<Int4>,
        blurhash -> Nullable<Text>,
        filename -> Nullable<Text>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        actor -> Text,
        actor_user_id -> Nullable<Uuid>,
        action -> Text,
        document_id -> Nullable<Uuid>,
        kind -> Nullable<Text>,
        from_version -> Nullable<Int4>,
        to_version -> Nullable<Int4>,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        request_id -> Nullable<Text>,
        detail -> Jsonb,
    }
}

diesel::table! {
    comments (id) {
        id -> Uuid,
        document_id -> Uuid,
        version -> Int4,
        author_id -> Nullable<Uuid>,
        author -> Text,
        body -> Text,
        created_at -> Timestamptz,
    }
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
        author_id -> Nullable<Uuid>,
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
        owner_id -> Nullable<Uuid>,
        scheduled_publish_at -> Nullable<Timestamptz>,
        scheduled_unpublish_at -> Nullable<Timestamptz>,
        scheduled_publish_version -> Nullable<Int4>,
    }
}

diesel::table! {
    events (id) {
        id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        occurred_at -> Timestamptz,
        payload -> Jsonb,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Int8,
        subject -> Text,
        failed_at -> Timestamptz,
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
        hero_image_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    persisted_operations (sha256) {
        sha256 -> Text,
        document -> Text,
        label -> Text,
        added_at -> Timestamptz,
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
        thumbnail_id -> Nullable<Uuid>,
        file_ids -> Array<Nullable<Uuid>>,
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
    server_key (singleton) {
        singleton -> Bool,
        fingerprint -> Bytea,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        secret_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        client_address -> Nullable<Text>,
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

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        disabled -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        password_changed_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Int8,
        delivery_id -> Uuid,
        attempted_at -> Timestamptz,
        status_code -> Nullable<Int4>,
        latency_ms -> Int4,
        error -> Nullable<Text>,
        response_excerpt -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        event_id -> Uuid,
        webhook_id -> Uuid,
        state -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        leased_until -> Nullable<Timestamptz>,
        reason -> Text,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Uuid,
        url -> Text,
        events -> Array<Nullable<Text>>,
        secret -> Text,
        description -> Text,
        enabled -> Bool,
        created_by -> Text,
        created_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(api_tokens -> users (created_by));
diesel::joinable!(audit_log -> documents (document_id));
diesel::joinable!(audit_log -> users (actor_user_id));
diesel::joinable!(comments -> documents (document_id));
diesel::joinable!(comments -> users (author_id));
diesel::joinable!(document_versions -> seed_runs (seed_run_id));
diesel::joinable!(document_versions -> users (author_id));
diesel::joinable!(documents -> users (owner_id));
diesel::joinable!(modules -> documents (topic_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(webhook_deliveries -> events (event_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    assets,
    audit_log,
    comments,
    document_versions,
    documents,
    events,
    login_failures,
    modules,
    persisted_operations,
    resource_types,
    resources,
    seed_runs,
    server_key,
    sessions,
    tags,
    topics,
    users,
    webhook_attempts,
    webhook_deliveries,
    webhooks,
);
