//! One document at a time: the write path editors use (the seed job has
//! its own bulk path in `projection`). Each function changes the document,
//! its versions and its projections together; callers run it inside their
//! transaction.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::DbResult;
use super::projection::{self, NewDocument, NewVersion, ProjectedItem, Refresh};
use crate::domain::{Content, Stage};

/// Who writes a version.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    /// `user:<id>`, `token:<id>`, `scheduler`…
    pub label: &'a str,
    pub user_id: Option<Uuid>,
}

#[derive(diesel::QueryableByName)]
struct Pointers {
    #[diesel(sql_type = Int4)]
    draft_version: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    first_published_at: Option<DateTime<Utc>>,
}

#[derive(diesel::QueryableByName)]
struct Names {
    #[diesel(sql_type = Nullable<Text>)]
    names: Option<String>,
}

/// Names of the topics and types `content` links to in `stage`, for the
/// search text of its projection.
async fn related_names(
    conn: &mut AsyncPgConnection,
    stage: Stage,
    content: &Content,
) -> DbResult<String> {
    let related = content.search_related();
    if related.is_empty() {
        return Ok(String::new());
    }
    // In the order the content names them, as seed jobs write them.
    let names: Names = diesel::sql_query(
        "SELECT string_agg(linked.name, ' ' ORDER BY wanted.position) AS names
           FROM unnest($2::uuid[]) WITH ORDINALITY AS wanted(id, position)
           JOIN (SELECT id, name FROM topics WHERE stage = $1
                 UNION ALL
                 SELECT id, name FROM resource_types WHERE stage = $1) AS linked
             ON linked.id = wanted.id",
    )
    .bind::<Text, _>(stage.as_str())
    .bind::<Array<SqlUuid>, _>(&related)
    .get_result(conn)
    .await?;
    Ok(names.names.unwrap_or_default())
}

async fn project_one(
    conn: &mut AsyncPgConnection,
    stage: Stage,
    id: Uuid,
    version: i32,
    content: &Content,
    published_at: Option<DateTime<Utc>>,
) -> DbResult<()> {
    let related_names = related_names(conn, stage, content).await?;
    let item = ProjectedItem {
        id,
        version,
        content,
        published_at,
        related_names,
        search_vector: None,
    };
    projection::project(conn, stage, std::slice::from_ref(&item)).await
}

/// Resources and modules keep the names of their topics and types in their
/// search text; when a topic or type changes in `stage`, theirs follow.
async fn refresh_dependents(
    conn: &mut AsyncPgConnection,
    stage: Stage,
    content: &Content,
    id: Uuid,
) -> DbResult<()> {
    if !matches!(content, Content::Topic(_) | Content::ResourceType(_)) {
        return Ok(());
    }
    projection::refresh_search_vectors(conn, stage, Refresh::Linking(id)).await
}

/// One version an editor (or the scheduler) wrote, outside any seed job.
async fn insert_version(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    version: i32,
    content: &Content,
    author: Author<'_>,
    message: &str,
) -> DbResult<()> {
    projection::insert_versions(
        conn,
        &[NewVersion {
            document_id: id,
            version,
            content: content.to_json(),
            author: author.label,
            author_id: author.user_id,
            seed_run_id: None,
            message,
        }],
    )
    .await
}

/// A new document whose first version is a draft, visible in preview only.
/// The caller picks the id (`Uuid::now_v7()`), so it can name the document
/// before it exists.
pub async fn create_draft(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    content: &Content,
    author: Author<'_>,
    message: &str,
) -> DbResult<()> {
    projection::insert_documents(
        conn,
        &[NewDocument {
            id,
            kind: content.kind().as_str(),
            slug: content.slug(),
            seed_key: None,
            status: "draft",
            draft_version: 1,
            published_version: None,
            first_published_at: None,
            published_at: None,
        }],
    )
    .await?;
    insert_version(conn, id, 1, content, author, message).await?;
    diesel::sql_query("UPDATE documents SET owner_id = $2 WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .bind::<Nullable<SqlUuid>, _>(author.user_id)
        .execute(conn)
        .await?;
    project_one(conn, Stage::Draft, id, 1, content, None).await
}

/// A new draft version of an existing document; what is published stays as
/// it is. Returns the new version number.
pub async fn save_draft(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    content: &Content,
    author: Author<'_>,
    message: &str,
) -> DbResult<i32> {
    let pointers: Pointers = diesel::sql_query(
        "SELECT draft_version, first_published_at FROM documents WHERE id = $1 FOR UPDATE",
    )
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    let version = pointers.draft_version + 1;
    insert_version(conn, id, version, content, author, message).await?;
    // The document's slug is its current draft's: slugs are unique among
    // current drafts, and publishing checks them among published items.
    diesel::sql_query(
        "UPDATE documents SET draft_version = $2, slug = $3, updated_at = now() WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Int4, _>(version)
    .bind::<Text, _>(content.slug())
    .execute(conn)
    .await?;
    project_one(
        conn,
        Stage::Draft,
        id,
        version,
        content,
        pointers.first_published_at,
    )
    .await?;
    refresh_dependents(conn, Stage::Draft, content, id).await?;
    Ok(version)
}

/// Publishes a document's current draft: the published pointer moves and
/// the draft projection is copied into the published stage.
pub async fn publish(conn: &mut AsyncPgConnection, id: Uuid, content: &Content) -> DbResult<()> {
    diesel::sql_query(
        "UPDATE documents
            SET published_version = draft_version, status = 'published',
                published_at = now(), first_published_at = coalesce(first_published_at, now()),
                updated_at = now()
          WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .execute(conn)
    .await?;
    let pointers: Pointers =
        diesel::sql_query("SELECT draft_version, first_published_at FROM documents WHERE id = $1")
            .bind::<SqlUuid, _>(id)
            .get_result(conn)
            .await?;
    // The draft row was projected before the document was first published.
    project_one(
        conn,
        Stage::Draft,
        id,
        pointers.draft_version,
        content,
        pointers.first_published_at,
    )
    .await?;
    let item = ProjectedItem {
        id,
        version: pointers.draft_version,
        content,
        published_at: pointers.first_published_at,
        related_names: String::new(),
        search_vector: None,
    };
    projection::publish_drafts(conn, std::slice::from_ref(&item)).await?;
    // The draft row's search text names its labels as they are in draft.
    if matches!(content, Content::Resource(_) | Content::Module(_)) {
        projection::refresh_search_vectors(conn, Stage::Published, Refresh::Documents(&[id]))
            .await?;
    }
    refresh_dependents(conn, Stage::Published, content, id).await
}

/// Takes a document off the public side, as `unpublish` (back to draft) or
/// `archive`. Its draft stays visible in preview.
pub async fn withdraw(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    content: &Content,
    status: &str,
) -> DbResult<()> {
    diesel::sql_query(
        "UPDATE documents
            SET published_version = NULL, published_at = NULL, status = $2, updated_at = now()
          WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(status)
    .execute(conn)
    .await?;
    projection::remove_documents(conn, Stage::Published, content.kind(), &[id]).await?;
    refresh_dependents(conn, Stage::Published, content, id).await
}
