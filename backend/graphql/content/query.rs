//! Root query fields.

use async_graphql::{Context, ID, Object, Result};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::connection::{
    ConnectionArgs, ResourceConnection, ResourceFilter, ResourceOrder, connection,
};
use super::search::{SearchArgs, SearchConnection, SearchKind, search};
use super::types::{Asset, Module, Node, Resource, ResourceType, Tag, Topic};
use crate::db::DbResult;
use crate::db::content::ContentReader;
use crate::db::resource_index::Scope;
use crate::domain::Stage;
use crate::graphql::access::{loaders, read_connection, stage};
use crate::graphql::error::{bad_input, internal};
use crate::graphql::ids::{NodeType, decode};
use crate::graphql::loaders::{
    AssetById, ModuleById, ResourceById, ResourceTypeById, TagById, TopicById,
};
use crate::graphql::paging::{Forward, Page, connection_type};

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
        NodeType::Asset => loaders
            .load_one(AssetById(uuid))
            .await
            .map_err(internal)?
            .map(|row| Node::Asset(Asset::at(stage)(row))),
    })
}

connection_type!(
    ModuleConnection,
    ModuleEdge,
    Module,
    "A page of modules, by title.",
    "A module and its position in the list."
);
connection_type!(
    TopicConnection,
    TopicEdge,
    Topic,
    "A page of topics, by name.",
    "A topic and its position in the list."
);
connection_type!(
    ResourceTypeConnection,
    ResourceTypeEdge,
    ResourceType,
    "A page of resource types, by name.",
    "A resource type and its position in the list."
);
connection_type!(
    TagConnection,
    TagEdge,
    Tag,
    "A page of tags, by name.",
    "A tag and its position in the list."
);

/// A page of a list read by name (or title) then id: modules and the
/// vocabularies. `read` reads the rows after a position; `key` is what a
/// row sorts by.
async fn by_name<Row>(
    ctx: &Context<'_>,
    preview: bool,
    list: &'static str,
    (first, after): (Option<i32>, Option<String>),
    read: impl AsyncFnOnce(
        ContentReader,
        &mut AsyncPgConnection,
        Option<&(String, Uuid)>,
        i64,
    ) -> DbResult<Vec<Row>>,
    key: impl Fn(&Row) -> (&String, Uuid),
) -> Result<(Stage, Page<Row>)> {
    let stage = stage(ctx, preview)?;
    let request = Forward::new(list, first, after.as_deref())?;
    let mut conn = read_connection(ctx, stage).await?;
    let rows = read(
        ContentReader::new(stage),
        &mut conn,
        request.after.as_ref(),
        request.limit(),
    )
    .await
    .map_err(internal)?;
    let page = request.page(rows, |row| {
        let (name, id) = key(row);
        (name.clone(), id)
    });
    Ok((stage, page))
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

    /// An asset by slug.
    async fn asset(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
        #[graphql(desc = "The asset's slug.")] slug: String,
    ) -> Result<Option<Asset>> {
        let stage = stage(ctx, preview)?;
        let mut conn = read_connection(ctx, stage).await?;
        let row = ContentReader::new(stage)
            .asset_by_slug(&mut conn, &slug)
            .await
            .map_err(internal)?;
        Ok(row.map(Asset::at(stage)))
    }

    /// Modules, by title, a page at a time.
    async fn modules(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<ModuleConnection> {
        let (stage, page) = by_name(
            ctx,
            preview,
            "modules",
            (first, after),
            async |reader, conn, after, limit| reader.modules(conn, after, limit).await,
            |row| (&row.title, row.id),
        )
        .await?;
        Ok(page.map(Module::at(stage)).into())
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

    /// Topics, by name, a page at a time.
    async fn topics(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<TopicConnection> {
        let (stage, page) = by_name(
            ctx,
            preview,
            "topics",
            (first, after),
            async |reader, conn, after, limit| reader.topics(conn, after, limit).await,
            |row| (&row.name, row.id),
        )
        .await?;
        Ok(page.map(Topic::at(stage)).into())
    }

    /// Resource types, by name, a page at a time.
    async fn resource_types(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<ResourceTypeConnection> {
        let (stage, page) = by_name(
            ctx,
            preview,
            "resourceTypes",
            (first, after),
            async |reader, conn, after, limit| reader.resource_types(conn, after, limit).await,
            |row| (&row.name, row.id),
        )
        .await?;
        Ok(page.map(ResourceType::at(stage)).into())
    }

    /// Tags, by name, a page at a time.
    async fn tags(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<TagConnection> {
        let (stage, page) = by_name(
            ctx,
            preview,
            "tags",
            (first, after),
            async |reader, conn, after, limit| reader.tags(conn, after, limit).await,
            |row| (&row.name, row.id),
        )
        .await?;
        Ok(page.map(Tag::at(stage)).into())
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
    #[allow(clippy::too_many_arguments)]
    async fn search(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Read current drafts and unpublished content instead of published content, here and in everything below. Needs a role with the PREVIEW permission (FORBIDDEN otherwise)."
        )]
        preview: bool,
        #[graphql(
            desc = "Words to look for (web-search syntax: \"quoted phrases\", -excluded; a word of two letters or more ending in * matches every word it begins, for search as you type)."
        )]
        query: String,
        #[graphql(desc = "What to search; resources and modules when omitted.")] kinds: Option<
            Vec<SearchKind>,
        >,
        #[graphql(desc = "Page size going forward: 20 when omitted, at most 100.")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
        #[graphql(desc = "Page size going backward, at most 100.")] last: Option<i32>,
        #[graphql(desc = "Cursor before which the page ends (`pageInfo.startCursor`).")]
        before: Option<String>,
        #[graphql(
            default = true,
            desc = "When the words as sent find nothing and some look misspelt (five letters or more), answer for the nearest published spelling that finds something (`searchedFor` says which). False: only the words as sent, with a `suggestion`."
        )]
        correct: bool,
    ) -> Result<SearchConnection> {
        let stage = stage(ctx, preview)?;
        let args = SearchArgs {
            query,
            kinds,
            first,
            after,
            last,
            before,
            correct,
        };
        search(ctx, stage, args).await
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
