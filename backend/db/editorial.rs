//! What editors see and do besides the content itself: document state,
//! version history, comments, schedules and the audit log.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{audit_log, comments, document_versions, documents};
use super::{DbResult, Prepared};

/// A document's workflow state, without its content.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = documents)]
pub struct DocumentMeta {
    pub id: Uuid,
    pub kind: String,
    pub slug: String,
    pub status: String,
    pub draft_version: i32,
    pub published_version: Option<i32>,
    pub owner_id: Option<Uuid>,
    pub scheduled_publish_at: Option<DateTime<Utc>>,
    pub scheduled_unpublish_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// The draft version a publish schedule was set on: the only one the
    /// scheduler may publish.
    pub scheduled_publish_version: Option<i32>,
}

/// The document, locked for the rest of the transaction: whoever changes
/// it next waits, then sees this change.
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> DbResult<Option<DocumentMeta>> {
    documents::table
        .find(id)
        .select(DocumentMeta::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn metas(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> DbResult<Vec<DocumentMeta>> {
    documents::table
        .filter(documents::id.eq_any(ids))
        .select(DocumentMeta::as_select())
        .load(conn)
        .await
}

/// Those of `ids` whose documents have a published version.
pub async fn published_among(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> DbResult<std::collections::HashSet<Uuid>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let found: Vec<Uuid> = documents::table
        .filter(documents::id.eq_any(ids))
        .filter(documents::published_version.is_not_null())
        .select(documents::id)
        .load(conn)
        .await?;
    Ok(found.into_iter().collect())
}

/// Ids of the documents of `kind` whose current drafts have these slugs.
pub async fn ids_by_slug(
    conn: &mut AsyncPgConnection,
    kind: &str,
    slugs: &[String],
) -> DbResult<Vec<(String, Uuid)>> {
    documents::table
        .filter(documents::kind.eq(kind))
        .filter(documents::slug.eq_any(slugs))
        .filter(documents::status.ne("archived"))
        .select((documents::slug, documents::id))
        .load(conn)
        .await
}

/// Another document of `kind` using `slug` as its current slug.
pub async fn slug_taken(
    conn: &mut AsyncPgConnection,
    kind: &str,
    slug: &str,
    except: Option<Uuid>,
) -> DbResult<bool> {
    let mut query = documents::table
        .filter(documents::kind.eq(kind))
        .filter(documents::slug.eq(slug))
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(documents::id.ne(id));
    }
    Ok(query
        .select(documents::id)
        .first::<Uuid>(conn)
        .await
        .optional()?
        .is_some())
}

pub async fn version_content(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    version: i32,
) -> DbResult<Option<serde_json::Value>> {
    document_versions::table
        .find((id, version))
        .select(document_versions::content)
        .first(conn)
        .await
        .optional()
}

#[derive(Debug, Clone, QueryableByName)]
#[diesel(table_name = document_versions)]
pub struct VersionRow {
    pub document_id: Uuid,
    pub version: i32,
    pub author: String,
    /// The author's name when a user wrote it, joined in the same statement.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub author_name: Option<String>,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

/// The newest `limit` versions of each document, older than `before` when
/// given: one statement for a page of items.
pub async fn versions_of(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    before: Option<i32>,
    limit: i64,
) -> DbResult<Vec<VersionRow>> {
    diesel::sql_query(
        "SELECT v.document_id, v.version, v.author, u.display_name AS author_name, v.message,
                v.created_at
           FROM (SELECT *, row_number() OVER (PARTITION BY document_id ORDER BY version DESC) AS n
                   FROM document_versions
                  WHERE document_id = ANY($1) AND ($2::integer IS NULL OR version < $2)) AS v
           LEFT JOIN users u ON u.id = v.author_id
          WHERE v.n <= $3
          ORDER BY v.document_id, v.version DESC",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Integer>, _>(before)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await
}

pub async fn set_status(conn: &mut AsyncPgConnection, id: Uuid, status: &str) -> DbResult<()> {
    diesel::update(documents::table.find(id))
        .set((
            documents::status.eq(status),
            documents::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A document's schedules: when to publish (and which version), when to
/// unpublish.
pub async fn set_schedule(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    publish: Option<(DateTime<Utc>, i32)>,
    unpublish_at: Option<DateTime<Utc>>,
) -> DbResult<()> {
    diesel::update(documents::table.find(id))
        .set((
            documents::scheduled_publish_at.eq(publish.map(|(at, _)| at)),
            documents::scheduled_publish_version.eq(publish.map(|(_, version)| version)),
            documents::scheduled_unpublish_at.eq(unpublish_at),
            documents::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Documents with a schedule that is due, locked; documents another
/// process is handling are skipped, so each is handled once.
pub async fn claim_due(conn: &mut AsyncPgConnection, limit: i64) -> DbResult<Vec<DocumentMeta>> {
    let now = Utc::now();
    // The `IS NOT NULL`s let the prepared statement's generic plan use the
    // partial indexes: without them it walks every document each second.
    documents::table
        .filter(
            (documents::scheduled_publish_at
                .is_not_null()
                .and(documents::scheduled_publish_at.le(now)))
            .or(documents::scheduled_unpublish_at
                .is_not_null()
                .and(documents::scheduled_unpublish_at.le(now))),
        )
        .order(documents::id)
        .limit(limit)
        .select(DocumentMeta::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = comments)]
pub struct CommentRow {
    pub id: Uuid,
    pub document_id: Uuid,
    pub version: i32,
    pub author_id: Option<Uuid>,
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_comment(conn: &mut AsyncPgConnection, comment: &CommentRow) -> DbResult<()> {
    diesel::insert_into(comments::table)
        .values(comment)
        .execute(conn)
        .await?;
    Ok(())
}

/// A comment with its author's name when a user wrote it.
#[derive(Debug, Clone, QueryableByName)]
pub struct CommentWithAuthor {
    #[diesel(embed)]
    pub comment: CommentRow,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub author_name: Option<String>,
}

/// A page of each document's comments, oldest first as a conversation
/// reads, after the (created_at, id) position `after`: one statement for
/// a page of items.
pub async fn comments_of(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> DbResult<Vec<CommentWithAuthor>> {
    let (after_at, after_id) = after.unzip();
    Prepared::fixed(
        diesel::sql_query(
            "SELECT c.*, u.display_name AS author_name
               FROM unnest($1::uuid[]) AS d(id)
              CROSS JOIN LATERAL (
                    SELECT * FROM comments
                     WHERE document_id = d.id
                       AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
                     ORDER BY created_at, id
                     LIMIT $4) AS c
               LEFT JOIN users u ON u.id = c.author_id
              ORDER BY c.document_id, c.created_at, c.id",
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, _>(after_at)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>, _>(after_id)
        .bind::<diesel::sql_types::BigInt, _>(limit),
    )
    .load(conn)
    .await
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry<'a> {
    pub actor: &'a str,
    pub actor_user_id: Option<Uuid>,
    pub action: &'a str,
    pub document_id: Option<Uuid>,
    pub kind: Option<&'a str>,
    pub from_version: Option<i32>,
    pub to_version: Option<i32>,
    pub from_status: Option<&'a str>,
    pub to_status: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub actor_user_id: Option<Uuid>,
    pub action: String,
    pub document_id: Option<Uuid>,
    pub kind: Option<String>,
    pub from_version: Option<i32>,
    pub to_version: Option<i32>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub request_id: Option<String>,
    pub detail: serde_json::Value,
}

impl<'a> NewAuditEntry<'a> {
    /// An entry about no content item: an account, a token, a webhook, a
    /// seed run.
    pub fn general(
        actor: &'a str,
        actor_user_id: Option<Uuid>,
        action: &'a str,
        request_id: Option<&'a str>,
        detail: serde_json::Value,
    ) -> Self {
        NewAuditEntry {
            actor,
            actor_user_id,
            action,
            document_id: None,
            kind: None,
            from_version: None,
            to_version: None,
            from_status: None,
            to_status: None,
            request_id,
            detail,
        }
    }
}

pub async fn audit(conn: &mut AsyncPgConnection, entry: &NewAuditEntry<'_>) -> DbResult<()> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .execute(conn)
        .await?;
    Ok(())
}

/// Which items an editor's list shows; empty lists and `None` leave a
/// field unfiltered.
#[derive(Debug, Clone, Default)]
pub struct ItemQuery {
    pub kinds: Vec<String>,
    pub statuses: Vec<String>,
    pub owner: Option<Uuid>,
    /// With (true) or without (false) a publish or unpublish scheduled.
    pub scheduled: Option<bool>,
    /// Lowercase words that must each be part of the slug.
    pub words: Vec<String>,
}

/// An item in an editor's list: which document, of which kind, and the
/// position it is listed at.
#[derive(Debug, Clone, Queryable)]
pub struct ItemRow {
    pub id: Uuid,
    pub kind: String,
    pub slug: String,
    pub updated_at: DateTime<Utc>,
}

/// Where a page of items starts, in one of the two orders lists offer.
#[derive(Debug, Clone)]
pub enum ItemsAfter {
    /// Most recently changed first: after this (updated_at, id).
    RecentlyChanged(Option<(DateTime<Utc>, Uuid)>),
    /// By slug: after this (slug, id).
    Alphabetical(Option<(String, Uuid)>),
}

/// A page of items in the order `after` names.
pub async fn items(
    conn: &mut AsyncPgConnection,
    query: &ItemQuery,
    after: ItemsAfter,
    limit: i64,
) -> DbResult<Vec<ItemRow>> {
    let mut rows = documents::table.into_boxed();
    // One value is compared with `=`, which can walk the (kind, slug) or
    // (status, updated_at) index in order; `= ANY` sorts every match.
    match query.kinds.as_slice() {
        [] => {}
        [kind] => rows = rows.filter(documents::kind.eq(kind.clone())),
        kinds => rows = rows.filter(documents::kind.eq_any(kinds.to_vec())),
    }
    match query.statuses.as_slice() {
        [] => {}
        [status] => rows = rows.filter(documents::status.eq(status.clone())),
        statuses => rows = rows.filter(documents::status.eq_any(statuses.to_vec())),
    }
    if let Some(owner) = query.owner {
        rows = rows.filter(documents::owner_id.eq(owner));
    }
    for word in &query.words {
        // Slugs hold only [a-z0-9-], so a word never carries LIKE's
        // wildcards; the caller keeps it so.
        rows = rows.filter(documents::slug.like(format!("%{word}%")));
    }
    match query.scheduled {
        Some(true) => {
            rows = rows.filter(
                documents::scheduled_publish_at
                    .is_not_null()
                    .or(documents::scheduled_unpublish_at.is_not_null()),
            )
        }
        Some(false) => {
            rows = rows.filter(
                documents::scheduled_publish_at
                    .is_null()
                    .and(documents::scheduled_unpublish_at.is_null()),
            )
        }
        None => {}
    }
    rows = match after {
        ItemsAfter::RecentlyChanged(after) => {
            if let Some((at, id)) = after {
                rows = rows.filter(
                    documents::updated_at
                        .lt(at)
                        .or(documents::updated_at.eq(at).and(documents::id.lt(id))),
                );
            }
            rows.order((documents::updated_at.desc(), documents::id.desc()))
        }
        ItemsAfter::Alphabetical(after) => {
            if let Some((slug, id)) = after {
                rows = rows.filter(
                    documents::slug
                        .gt(slug.clone())
                        .or(documents::slug.eq(slug).and(documents::id.gt(id))),
                );
            }
            rows.order((documents::slug.asc(), documents::id.asc()))
        }
    };
    let page = rows.limit(limit).select((
        documents::id,
        documents::kind,
        documents::slug,
        documents::updated_at,
    ));
    // Planned for its values: how rare the kind, status or owner is decides
    // which index to walk, and the connections' generic plans cannot know
    // (with every document published, one looks for the rare "in review"
    // ones by walking all of them by date).
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        diesel::sql_query("SET LOCAL plan_cache_mode = force_custom_plan")
            .execute(conn)
            .await?;
        page.load(conn).await
    })
    .await
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub document_id: Option<Uuid>,
    pub actor: Option<String>,
    pub action: Option<String>,
}

/// A page of each document's entries, newest first, older than `before`:
/// one statement for a page of items.
pub async fn audit_of(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    before: Option<i64>,
    limit: i64,
) -> DbResult<Vec<AuditRow>> {
    Prepared::fixed(
        diesel::sql_query(
            "SELECT a.*
               FROM unnest($1::uuid[]) AS d(id)
              CROSS JOIN LATERAL (
                    SELECT * FROM audit_log
                     WHERE document_id = d.id AND ($2::bigint IS NULL OR id < $2)
                     ORDER BY id DESC
                     LIMIT $3) AS a
              ORDER BY a.document_id, a.id DESC",
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>, _>(before)
        .bind::<diesel::sql_types::BigInt, _>(limit),
    )
    .load(conn)
    .await
}

/// Newest first, older than `before` when given.
pub async fn audit_entries(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> DbResult<Vec<AuditRow>> {
    let mut query = audit_log::table.into_boxed();
    if let Some(id) = filter.document_id {
        query = query.filter(audit_log::document_id.eq(id));
    }
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_log::actor.eq(actor.clone()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.eq(action.clone()));
    }
    if let Some(before) = before {
        query = query.filter(audit_log::id.lt(before));
    }
    query
        .order(audit_log::id.desc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)
        .await
}
