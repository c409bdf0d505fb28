//! Root query fields.

use async_graphql::{Context, Object, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use super::error::{bad_input, internal};
use super::types::{Module, PageInfo, ResourceConnection, ResourceEdge, ResourceType, Tag, Topic};
use crate::db::content::ContentReader;
use crate::db::{PgPool, PooledConnection};
use crate::domain::Stage;

pub const DEFAULT_PAGE_SIZE: i32 = 20;
pub const MAX_PAGE_SIZE: i32 = 100;

/// What the request may see, decided once per request by the HTTP layer.
#[derive(Debug, Clone, Copy)]
pub struct Visibility {
    pub stage: Stage,
}

pub(crate) fn reader(ctx: &Context<'_>) -> ContentReader {
    ContentReader::new(ctx.data_unchecked::<Visibility>().stage)
}

pub(crate) async fn connection(ctx: &Context<'_>) -> Result<PooledConnection> {
    ctx.data_unchecked::<PgPool>().get().await.map_err(internal)
}

pub struct QueryRoot;

/// Published content: modules, resources, topics, resource types and tags.
#[Object(name = "Query")]
impl QueryRoot {
    /// A module (guidance page) by slug, e.g. "community-trust-and-partnerships".
    async fn module(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The module's slug.")] slug: String,
    ) -> Result<Option<Module>> {
        let mut conn = connection(ctx).await?;
        let row = reader(ctx)
            .module_by_slug(&mut conn, &slug)
            .await
            .map_err(internal)?;
        Ok(row.map(Module))
    }

    /// All modules, by title.
    async fn modules(&self, ctx: &Context<'_>) -> Result<Vec<Module>> {
        let mut conn = connection(ctx).await?;
        let rows = reader(ctx).modules(&mut conn).await.map_err(internal)?;
        Ok(rows.into_iter().map(Module).collect())
    }

    /// A topic (practice area) by slug.
    async fn topic(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The topic's slug.")] slug: String,
    ) -> Result<Option<Topic>> {
        let mut conn = connection(ctx).await?;
        let row = reader(ctx)
            .topic_by_slug(&mut conn, &slug)
            .await
            .map_err(internal)?;
        Ok(row.map(Topic))
    }

    /// All topics, by name.
    async fn topics(&self, ctx: &Context<'_>) -> Result<Vec<Topic>> {
        let mut conn = connection(ctx).await?;
        let rows = reader(ctx).topics(&mut conn).await.map_err(internal)?;
        Ok(rows.into_iter().map(Topic).collect())
    }

    /// All resource types, by name.
    async fn resource_types(&self, ctx: &Context<'_>) -> Result<Vec<ResourceType>> {
        let mut conn = connection(ctx).await?;
        let rows = reader(ctx)
            .resource_types(&mut conn)
            .await
            .map_err(internal)?;
        Ok(rows.into_iter().map(ResourceType).collect())
    }

    /// All tags, by name.
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
        let mut conn = connection(ctx).await?;
        let rows = reader(ctx).tags(&mut conn).await.map_err(internal)?;
        Ok(rows.into_iter().map(Tag).collect())
    }

    /// Resources in title order, a page at a time.
    async fn resources(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<ResourceConnection> {
        let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(0..=MAX_PAGE_SIZE).contains(&first) {
            return Err(bad_input(format!(
                "`first` must be between 0 and {MAX_PAGE_SIZE}, got {first}"
            )));
        }
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let reader = reader(ctx);
        let mut conn = connection(ctx).await?;
        let mut rows = reader
            .resources_page(
                &mut conn,
                after.as_ref().map(|(title, id)| (title.as_str(), *id)),
                i64::from(first) + 1,
            )
            .await
            .map_err(internal)?;
        let has_next_page = rows.len() > first as usize;
        rows.truncate(first as usize);
        let total_count = if ctx.look_ahead().field("totalCount").exists() {
            reader.resource_count(&mut conn).await.map_err(internal)?
        } else {
            0
        };
        let edges: Vec<ResourceEdge> = rows
            .into_iter()
            .map(|node| ResourceEdge {
                cursor: encode_cursor(&node.title, node.id),
                node,
            })
            .collect();
        Ok(ResourceConnection {
            page_info: PageInfo {
                has_next_page,
                has_previous_page: after.is_some(),
                start_cursor: edges.first().map(|edge| edge.cursor.clone()),
                end_cursor: edges.last().map(|edge| edge.cursor.clone()),
            },
            edges,
            total_count,
        })
    }
}

fn encode_cursor(title: &str, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::json!([title, id]).to_string())
}

fn decode_cursor(cursor: &str) -> Result<(String, Uuid)> {
    let invalid = || bad_input("`after` is not a cursor returned by this API");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    serde_json::from_slice::<(String, Uuid)>(&bytes).map_err(|_| invalid())
}
