//! Root query fields.

use async_graphql::{Context, ID, Object, Result};
use uuid::Uuid;

use super::access::{loaders, stage};
use super::connection::{
    ConnectionArgs, ResourceConnection, ResourceFilter, ResourceOrder, connection,
};
use super::error::{bad_input, internal};
use super::ids::{NodeType, decode};
use super::loaders::{ModuleById, ResourceById, ResourceTypeById, TagById, TopicById};
use super::search::{SearchConnection, SearchKind, search};
use super::types::{Module, Node, Resource, ResourceType, Tag, Topic};
use crate::db::content::ContentReader;
use crate::db::resource_index::Scope;
use crate::db::{PgPool, PooledConnection};
use crate::domain::Stage;

pub(crate) async fn connection_to_db(ctx: &Context<'_>) -> Result<PooledConnection> {
    ctx.data_unchecked::<PgPool>().get().await.map_err(internal)
}

/// Published content may come from a read replica (`--read-database-url`);
/// drafts always come from the primary, where editors' changes land.
pub(crate) async fn read_connection(ctx: &Context<'_>, stage: Stage) -> Result<PooledConnection> {
    match (stage, ctx.data_opt::<ReadPool>()) {
        (Stage::Published, Some(ReadPool(pool))) => pool.get().await.map_err(internal),
        _ => connection_to_db(ctx).await,
    }
}

/// The pool published reads use when it is not the primary's.
#[derive(Clone)]
pub struct ReadPool(pub PgPool);

/// Most ids `nodes` takes at once.
const MAX_NODES: usize = 100;

async fn node_by_id(ctx: &Context<'_>, stage: Stage, id: &str) -> Result<Option<Node>> {
    // An id that is not ours is simply not found: no error tells a guesser
    // anything.
    let Some((node_type, uuid)) = decode(id) else {
        return Ok(None);
    };
    let loaders = loaders(ctx, stage)?;
    Ok(match node_type {
        NodeType::Module => loaders
            .load_one(ModuleById(uuid))
            .await
            .map_err(internal)?
            .map(|row| Node::Module(Module::at(stage)(row))),
        NodeType::Resource => loaders
            .load_one(ResourceById(uuid))
            .await
            .map_err(internal)?
            .map(|row| Node::Resource(Resource::at(stage)(row))),
        NodeType::Topic => loaders
            .load_one(TopicById(uuid))
            .await
            .map_err(internal)?
            .map(|row| Node::Topic(Topic::at(stage)(row))),
        NodeType::ResourceType => loaders
            .load_one(ResourceTypeById(uuid))
            .await
            .map_err(internal)?
            .map(|row| Node::ResourceType(ResourceType::at(stage)(row))),
        NodeType::Tag => loaders
            .load_one(TagById(uuid))
            .await
            .map_err(internal)?
            .map(|row| Node::Tag(Tag::at(stage)(row))),
    })
}

#[derive(Default)]
pub struct ContentQuery;

/// Content queries.
#[Object]
impl ContentQuery {
    /// A module (guidance page) by slug, e.g. "community-trust-and-partnerships".
    async fn module(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
        #[graphql(desc = "The module's slug.")] slug: String,
    ) -> Result<Option<Module>> {
        let stage = stage(ctx, preview)?;
        let mut conn = read_connection(ctx, stage).await?;
        let row = ContentReader::new(stage)
            .module_by_slug(&mut conn, &slug)
            .await
            .map_err(internal)?;
        Ok(row.map(Module::at(stage)))
    }

    /// All modules, by title.
    async fn modules(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
    ) -> Result<Vec<Module>> {
        let stage = stage(ctx, preview)?;
        let mut conn = read_connection(ctx, stage).await?;
        let rows = ContentReader::new(stage)
            .modules(&mut conn)
            .await
            .map_err(internal)?;
        Ok(rows.into_iter().map(Module::at(stage)).collect())
    }

    /// A topic (practice area) by slug.
    async fn topic(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
        #[graphql(desc = "The topic's slug.")] slug: String,
    ) -> Result<Option<Topic>> {
        let stage = stage(ctx, preview)?;
        let mut conn = read_connection(ctx, stage).await?;
        let row = ContentReader::new(stage)
            .topic_by_slug(&mut conn, &slug)
            .await
            .map_err(internal)?;
        Ok(row.map(Topic::at(stage)))
    }

    /// All topics, by name.
    async fn topics(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
    ) -> Result<Vec<Topic>> {
        let stage = stage(ctx, preview)?;
        let mut conn = read_connection(ctx, stage).await?;
        let rows = ContentReader::new(stage)
            .topics(&mut conn)
            .await
            .map_err(internal)?;
        Ok(rows.into_iter().map(Topic::at(stage)).collect())
    }

    /// All resource types, by name.
    async fn resource_types(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
    ) -> Result<Vec<ResourceType>> {
        let stage = stage(ctx, preview)?;
        let mut conn = read_connection(ctx, stage).await?;
        let rows = ContentReader::new(stage)
            .resource_types(&mut conn)
            .await
            .map_err(internal)?;
        Ok(rows.into_iter().map(ResourceType::at(stage)).collect())
    }

    /// All tags, by name.
    async fn tags(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
    ) -> Result<Vec<Tag>> {
        let stage = stage(ctx, preview)?;
        let mut conn = read_connection(ctx, stage).await?;
        let rows = ContentReader::new(stage)
            .tags(&mut conn)
            .await
            .map_err(internal)?;
        Ok(rows.into_iter().map(Tag::at(stage)).collect())
    }

    /// A resource by global id or by slug (exactly one of them).
    async fn resource(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
        #[graphql(desc = "The resource's global id.")] id: Option<ID>,
        #[graphql(desc = "The resource's slug.")] slug: Option<String>,
    ) -> Result<Option<Resource>> {
        let stage = stage(ctx, preview)?;
        match (id, slug) {
            (Some(id), None) => Ok(match node_by_id(ctx, stage, &id).await? {
                Some(Node::Resource(resource)) => Some(resource),
                _ => None,
            }),
            (None, Some(slug)) => {
                let mut conn = read_connection(ctx, stage).await?;
                let row = ContentReader::new(stage)
                    .resource_by_slug(&mut conn, &slug)
                    .await
                    .map_err(internal)?;
                Ok(row.map(Resource::at(stage)))
            }
            _ => Err(bad_input("pass exactly one of `id` and `slug`")),
        }
    }

    /// Resources, filtered, sorted and a page at a time, with the total and
    /// facet counts of the whole result.
    #[allow(clippy::too_many_arguments)]
    async fn resources(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
        #[graphql(desc = "Which resources; all when omitted.")] filter: Option<ResourceFilter>,
        #[graphql(desc = "Sort keys; by title when omitted (relevance with a query).")]
        order_by: Option<Vec<ResourceOrder>>,
        #[graphql(desc = "Page size going forward: 20 when omitted, at most 100.")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
        #[graphql(desc = "Page size going backward, at most 100.")] last: Option<i32>,
        #[graphql(desc = "Cursor before which the page ends (`pageInfo.startCursor`).")]
        before: Option<String>,
    ) -> Result<ResourceConnection> {
        let args = ConnectionArgs {
            filter,
            order_by,
            first,
            after,
            last,
            before,
        };
        connection(Scope::All, Uuid::nil(), stage(ctx, preview)?, args)
    }

    /// Full-text search over resources and modules, best match first, each
    /// hit with a highlighted snippet.
    async fn search(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
        #[graphql(desc = "Words to look for (web-search syntax: \"quoted phrases\", -excluded).")]
        query: String,
        #[graphql(desc = "What to search; resources and modules when omitted.")] kinds: Option<
            Vec<SearchKind>,
        >,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts.")] after: Option<String>,
    ) -> Result<SearchConnection> {
        let stage = stage(ctx, preview)?;
        search(ctx, stage, query, kinds, first, after).await
    }

    /// Any object by its global id; null when there is none.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
        #[graphql(desc = "A global id from any object's `id` field.")] id: ID,
    ) -> Result<Option<Node>> {
        node_by_id(ctx, stage(ctx, preview)?, &id).await
    }

    /// Objects by global id, in the order asked; null for each one not found.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
        #[graphql(desc = "Global ids, at most 100.")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(bad_input(format!("`ids` takes at most {MAX_NODES} ids")));
        }
        let stage = stage(ctx, preview)?;
        let lookups = ids.iter().map(|id| node_by_id(ctx, stage, id));
        futures::future::try_join_all(lookups).await
    }
}
