//! The editor-facing fields every content type carries.

use async_graphql::{Context, ID, Result};
use uuid::Uuid;

use super::*;
use crate::db::editorial::CommentWithAuthor;
use crate::db::editorial::{self as store};
use crate::domain::Stage;
use crate::graphql::access::connection_to_db;
use crate::graphql::access::loaders;
use crate::graphql::error::internal;
use crate::graphql::loaders::{CommentsOf, ContentLoader, HistoryOf, LoadError, VersionsOf};
use crate::graphql::paging::{Forward, Page};
use async_graphql::dataloader::Loader;

pub async fn versions(
    ctx: &Context<'_>,
    id: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Option<VersionConnection>> {
    let key = |limit, after| VersionsOf { id, limit, after };
    let page = item_page(ctx, "versions", (first, after), key, |row| row.version).await?;
    Ok(page.map(|page| {
        page.map(|row| Version {
            number: row.version,
            author: row.author_name.unwrap_or(row.author),
            created_at: row.created_at.into(),
            message: row.message,
        })
        .into()
    }))
}

pub async fn diff(
    ctx: &Context<'_>,
    id: Uuid,
    from: i32,
    to: Option<i32>,
) -> Result<Option<Vec<FieldChange>>> {
    let Some(meta) = meta(ctx, id).await? else {
        return Ok(None);
    };
    let to = to.unwrap_or(meta.draft_version);
    let mut conn = connection_to_db(ctx).await?;
    let mut snapshot = async |version: i32| -> Result<serde_json::Map<String, serde_json::Value>> {
        let json = store::version_content(&mut conn, id, version)
            .await
            .map_err(internal)?
            .ok_or_else(|| {
                crate::graphql::error::bad_input(format!("there is no version {version}"))
            })?;
        Ok(json.as_object().cloned().unwrap_or_default())
    };
    let (old, new) = (snapshot(from).await?, snapshot(to).await?);
    let fields = crate::domain::content::differing_fields(&old, &new);
    // Versions store links as document ids; a reader wants the slugs the
    // inputs take.
    let linked: Vec<Uuid> = fields
        .iter()
        .filter(|field| RELATIONS.contains(&field.as_str()))
        .flat_map(|field| [old.get(field), new.get(field)])
        .flatten()
        .flat_map(ids_in)
        .collect();
    let slugs: std::collections::HashMap<Uuid, String> = store::metas(&mut conn, &linked)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|meta| (meta.id, meta.slug))
        .collect();
    let readable = |field: &str, value: Option<&serde_json::Value>| {
        let value = value.cloned()?;
        // Stored in thousandths; shown as the input takes it.
        if field == "focalPoint" {
            let point: Option<crate::domain::content::FocalPoint> =
                serde_json::from_value(value).ok();
            return Some(point.map_or(serde_json::Value::Null, |point| {
                let (x, y) = point.fractions();
                serde_json::json!({ "x": x, "y": y })
            }));
        }
        if !RELATIONS.contains(&field) {
            return Some(value);
        }
        let slug = |id: &serde_json::Value| {
            let slug = id
                .as_str()
                .and_then(|id| id.parse().ok())
                .and_then(|id: Uuid| slugs.get(&id).cloned());
            serde_json::Value::from(slug.unwrap_or_else(|| "(deleted)".into()))
        };
        Some(match value {
            serde_json::Value::Array(ids) => ids.iter().map(slug).collect(),
            serde_json::Value::Null => serde_json::Value::Null,
            id => slug(&id),
        })
    };
    Ok(Some(
        fields
            .into_iter()
            .map(|field| FieldChange {
                from: readable(&field, old.get(&field)),
                to: readable(&field, new.get(&field)),
                field,
            })
            .collect(),
    ))
}

/// The fields of a version that link to other documents.
const RELATIONS: [&str; 8] = [
    "types",
    "topics",
    "tags",
    "resources",
    "topic",
    "heroImage",
    "thumbnail",
    "files",
];

fn ids_in(value: &serde_json::Value) -> Vec<Uuid> {
    let parse = |value: &serde_json::Value| value.as_str().and_then(|id| id.parse().ok());
    match value {
        serde_json::Value::Array(values) => values.iter().filter_map(parse).collect(),
        value => parse(value).into_iter().collect(),
    }
}

pub async fn comments(
    ctx: &Context<'_>,
    id: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Option<CommentConnection>> {
    let key = |limit, after| CommentsOf { id, limit, after };
    let position = |row: &CommentWithAuthor| (row.comment.created_at, row.comment.id);
    let page = item_page(ctx, "comments", (first, after), key, position).await?;
    Ok(page.map(|page| {
        page.map(|row| Comment {
            id: ID(row.comment.id.to_string()),
            author: row.author_name.unwrap_or(row.comment.author),
            body: row.comment.body,
            version: row.comment.version,
            created_at: row.comment.created_at.into(),
        })
        .into()
    }))
}

pub async fn history(
    ctx: &Context<'_>,
    id: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Option<AuditEntryConnection>> {
    let key = |limit, after| HistoryOf { id, limit, after };
    let page = item_page(ctx, "history", (first, after), key, |row| row.id).await?;
    Ok(page.map(|page| page.map(AuditEntry).into()))
}

/// The workflow actions the viewer may take on the item now, or `None`
/// without the PREVIEW permission.
pub async fn allowed_actions(ctx: &Context<'_>, id: Uuid) -> Result<Option<Vec<ContentAction>>> {
    let Some(meta) = meta(ctx, id).await? else {
        return Ok(None);
    };
    let actions = editorial(ctx)
        .allowed_actions(&who(ctx), &meta)
        .map_err(|error| editorial_error(error, false))?;
    Ok(Some(actions.into_iter().map(Into::into).collect()))
}

/// A page of one item's rows of `list` through their loader (one statement
/// for every item of a request), or `None` without the PREVIEW permission.
/// `key` makes the loader's key from the rows to read and the position
/// after which they start; `position` is where a row stands.
async fn item_page<Key, Position, Row>(
    ctx: &Context<'_>,
    list: &'static str,
    (first, after): (Option<i32>, Option<String>),
    key: impl FnOnce(i64, Option<Position>) -> Key,
    position: impl Fn(&Row) -> Position,
) -> Result<Option<Page<Row>>>
where
    Key: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    Position: serde::Serialize + serde::de::DeserializeOwned + Clone,
    Row: Clone + Send + Sync + 'static,
    ContentLoader: Loader<Key, Value = Vec<Row>, Error = LoadError>,
{
    if !may_preview(ctx) {
        return Ok(None);
    }
    let request = Forward::<Position>::new(list, first, after.as_deref())?;
    let rows = loaders(ctx, Stage::Published)?
        .load_one(key(request.limit(), request.after.clone()))
        .await
        .map_err(internal)?
        .unwrap_or_default();
    Ok(Some(request.page(rows, position)))
}

/// The editor-facing fields, identical on every content type.
macro_rules! editor_fields {
    ($(#[$meta:meta])* $ty:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[async_graphql::Object]
        impl $ty {
            $($body)*

            /// Workflow state; null without the PREVIEW permission.
            async fn status(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<Option<$crate::graphql::editorial::ContentStatus>> {
                Ok($crate::graphql::editorial::meta(ctx, self.row.id).await?.as_ref().and_then($crate::graphql::editorial::status_of))
            }
            /// The current draft version: pass it as `expectedVersion`. Null
            /// without the PREVIEW permission.
            async fn version(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<Option<i32>> {
                Ok($crate::graphql::editorial::meta(ctx, self.row.id).await?.map(|meta| meta.draft_version))
            }
            /// The version the public sees; null when none is, or without
            /// the PREVIEW permission.
            async fn published_version(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<Option<i32>> {
                Ok($crate::graphql::editorial::meta(ctx, self.row.id).await?.and_then(|meta| meta.published_version))
            }
            /// Published, with a newer draft the public does not see yet.
            /// Null without the PREVIEW permission.
            async fn has_unpublished_changes(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<Option<bool>> {
                Ok($crate::graphql::editorial::meta(ctx, self.row.id).await?.map(|meta| {
                    meta.published_version.is_some_and(|published| published < meta.draft_version)
                }))
            }
            /// When it will be published; null when not scheduled or
            /// without the PREVIEW permission.
            async fn scheduled_publish_at(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<Option<$crate::graphql::scalars::Timestamp>> {
                Ok($crate::graphql::editorial::meta(ctx, self.row.id).await?.and_then(|meta| meta.scheduled_publish_at).map(Into::into))
            }
            /// When it will be unpublished; null when not scheduled or
            /// without the PREVIEW permission.
            async fn scheduled_unpublish_at(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<Option<$crate::graphql::scalars::Timestamp>> {
                Ok($crate::graphql::editorial::meta(ctx, self.row.id).await?.and_then(|meta| meta.scheduled_unpublish_at).map(Into::into))
            }
            /// Its versions, newest first. Null without the PREVIEW permission.
            async fn versions(
                &self,
                ctx: &async_graphql::Context<'_>,
                #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
                #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")] after: Option<String>,
            ) -> async_graphql::Result<Option<$crate::graphql::editorial::VersionConnection>> {
                $crate::graphql::editorial::versions(ctx, self.row.id, first, after).await
            }
            /// The workflow actions you may take on it now: its state allows
            /// them and so does your role. Null without the PREVIEW
            /// permission.
            async fn allowed_actions(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<Option<Vec<$crate::graphql::editorial::ContentAction>>> {
                $crate::graphql::editorial::allowed_actions(ctx, self.row.id).await
            }
            /// The fields that differ between two versions. Null without the
            /// PREVIEW permission.
            async fn diff(
                &self,
                ctx: &async_graphql::Context<'_>,
                #[graphql(desc = "The older version.")] from: i32,
                #[graphql(desc = "The newer version; the current draft when omitted.")] to: Option<i32>,
            ) -> async_graphql::Result<Option<Vec<$crate::graphql::editorial::FieldChange>>> {
                $crate::graphql::editorial::diff(ctx, self.row.id, from, to).await
            }
            /// Comments, oldest first. Null without the PREVIEW permission.
            async fn comments(
                &self,
                ctx: &async_graphql::Context<'_>,
                #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
                #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")] after: Option<String>,
            ) -> async_graphql::Result<Option<$crate::graphql::editorial::CommentConnection>> {
                $crate::graphql::editorial::comments(ctx, self.row.id, first, after).await
            }
            /// Everything done to it, newest first. Null without the
            /// PREVIEW permission.
            async fn history(
                &self,
                ctx: &async_graphql::Context<'_>,
                #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
                #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")] after: Option<String>,
            ) -> async_graphql::Result<Option<$crate::graphql::editorial::AuditEntryConnection>> {
                $crate::graphql::editorial::history(ctx, self.row.id, first, after).await
            }
        }
    };
}
pub(crate) use editor_fields;
