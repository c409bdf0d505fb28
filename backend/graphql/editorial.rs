//! The editorial API: content mutations, workflow actions, and the
//! editor-facing fields every content type carries.

use crate::graphql::scalars::Timestamp;
use async_graphql::{
    Context, Enum, ErrorExtensions, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::access::{loaders, require, viewer};
use super::error::{ErrorCode, client_error, internal};
use super::ids::{NodeType, decode, encode};
use super::loaders::{
    ActorRef, CommentsOf, HistoryOf, MetaById, ModuleById, ResourceById, ResourceTypeById, TagById,
    TopicById, VersionsOf,
};
use super::paging::{Forward, connection_type};
use super::query::connection_to_db;
use super::types::{ContentItem, Module, Resource, ResourceType, Tag, Topic};
use crate::db::editorial::{
    self as store, AuditFilter as StoreAuditFilter, AuditRow, DocumentMeta,
};
use crate::domain::access::{self, Action};
use crate::domain::patch::{
    LabelPatch, ModulePatch, Patch, ResourceEdit, ResourcePatch, TopicPatch,
};
use crate::domain::workflow::{Status, WorkflowAction};
use crate::domain::{Kind, Stage};
use crate::editorial::{Arguments, Editorial, EditorialError, Who};

/// Where an item stands in the editorial workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::domain::workflow::Status")]
pub enum ContentStatus {
    /// Being written; not in review.
    Draft,
    /// Submitted; waiting for an editor.
    InReview,
    /// Sent back by an editor with comments.
    ChangesRequested,
    /// Approved; a publisher may publish it.
    Approved,
    /// The current draft is what the public sees.
    Published,
    /// Withdrawn and set aside; `restore` brings it back as a draft.
    Archived,
}

/// Whether the request may see editor-facing fields.
fn may_preview(ctx: &Context<'_>) -> bool {
    access::authorize(viewer(ctx).actor(), Action::Preview).is_ok()
}

/// The document's state, for a viewer who may see it.
pub async fn meta(ctx: &Context<'_>, id: Uuid) -> Result<Option<DocumentMeta>> {
    if !may_preview(ctx) {
        return Ok(None);
    }
    loaders(ctx, Stage::Published)?
        .load_one(MetaById(id))
        .await
        .map_err(internal)
}

pub fn status_of(meta: &DocumentMeta) -> Option<ContentStatus> {
    Status::parse(&meta.status).map(ContentStatus::from)
}

/// One version of an item.
#[derive(SimpleObject)]
pub struct Version {
    /// Its number; 1 is the first.
    number: i32,
    /// Who wrote it: a user's name, or what wrote it (`seed:<run>`, `scheduler`).
    author: String,
    /// When it was written.
    created_at: Timestamp,
    /// What the author said about it.
    message: String,
}

/// A field that differs between two versions.
#[derive(SimpleObject)]
pub struct FieldChange {
    /// The field, as the read API names it.
    field: String,
    /// Its value in the older version (a string, number, list or object as
    /// the version stores it); null when absent or empty.
    from: Option<serde_json::Value>,
    /// Its value in the newer version; null when absent or empty.
    to: Option<serde_json::Value>,
}

/// A comment on an item.
#[derive(SimpleObject)]
pub struct Comment {
    /// Stable id.
    id: ID,
    /// Who wrote it.
    author: String,
    /// The text.
    body: String,
    /// The draft version it was written on.
    version: i32,
    /// When.
    created_at: Timestamp,
}

/// What kind of actor made a change.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// A person who signed in.
    User,
    /// A program, with an API token.
    ApiToken,
    /// The scheduler, publishing or unpublishing at the time set.
    Scheduler,
    /// A seed job.
    SeedRun,
    /// Someone at the server's command line.
    Operator,
}

/// Who made a change: a person, a program's API token, the scheduler, a
/// seed job or an operator.
pub struct Actor {
    reference: String,
    kind: ActorKind,
    /// The user or token, for looking up its name.
    named: Option<ActorRef>,
}

impl Actor {
    /// From the reference the audit log stores (`user:<id>`, `token:<id>`,
    /// `scheduler`, `seed:<run id>`, `operator`).
    pub fn from_reference(reference: &str) -> Actor {
        let id = |prefix: &str| {
            reference
                .strip_prefix(prefix)
                .and_then(|id| Uuid::parse_str(id).ok())
        };
        let (kind, named) = if let Some(user) = id("user:") {
            (ActorKind::User, Some(ActorRef::User(user)))
        } else if let Some(token) = id("token:") {
            (ActorKind::ApiToken, Some(ActorRef::ApiToken(token)))
        } else if reference.starts_with("seed:") {
            (ActorKind::SeedRun, None)
        } else if reference == "scheduler" {
            (ActorKind::Scheduler, None)
        } else {
            (ActorKind::Operator, None)
        };
        Actor {
            reference: reference.to_string(),
            kind,
            named,
        }
    }

    async fn named(&self, ctx: &Context<'_>) -> Result<Option<crate::graphql::loaders::ActorName>> {
        let Some(named) = self.named else {
            return Ok(None);
        };
        loaders(ctx, Stage::Published)?
            .load_one(named)
            .await
            .map_err(internal)
    }
}

/// Who made a change: a person, a program's API token, the scheduler, a
/// seed job or an operator.
#[Object]
impl Actor {
    /// The reference the audit log keeps: `user:<id>`, `token:<id>`,
    /// `scheduler`, `seed:<run id>` or `operator` (what `AuditLogFilter.actor`
    /// takes).
    async fn id(&self) -> &str {
        &self.reference
    }
    /// What kind of actor.
    async fn kind(&self) -> ActorKind {
        self.kind
    }
    /// The user's name or the API token's name; for the scheduler, a seed
    /// job or an operator, what it is. Null for a user or token since deleted.
    async fn name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(match self.kind {
            ActorKind::User | ActorKind::ApiToken => self.named(ctx).await?.map(|named| named.name),
            ActorKind::Scheduler => Some("Scheduler".into()),
            ActorKind::SeedRun => Some(format!(
                "Seed run {}",
                self.reference.trim_start_matches("seed:")
            )),
            ActorKind::Operator => Some("Operator (command line)".into()),
        })
    }
    /// The user's sign-in email, for admins (who manage users); null for
    /// everyone else and for other kinds of actor.
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        if crate::domain::access::authorize(viewer(ctx).actor(), Action::ManageUsers).is_err() {
            return Ok(None);
        }
        Ok(self.named(ctx).await?.and_then(|named| named.email))
    }
}

/// One change, as the audit log records it.
pub struct AuditEntry(AuditRow);

/// One change, as the audit log records it.
#[Object]
impl AuditEntry {
    /// Its number in the log; later entries have larger numbers.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// When it happened.
    async fn at(&self) -> Timestamp {
        self.0.at.into()
    }
    /// Who did it.
    async fn actor(&self) -> Actor {
        Actor::from_reference(&self.0.actor)
    }
    /// The mutation (`create`, `update`, `publish`, …) or `scheduleSkipped`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The item's global id.
    async fn item_id(&self) -> Option<ID> {
        let kind = Kind::parse(self.0.kind.as_deref()?)?;
        Some(encode(NodeType::from(kind), self.0.document_id?))
    }
    /// The draft version before the change.
    async fn from_version(&self) -> Option<i32> {
        self.0.from_version
    }
    /// The draft version after it.
    async fn to_version(&self) -> Option<i32> {
        self.0.to_version
    }
    /// The state before.
    async fn from_status(&self) -> Option<ContentStatus> {
        Status::parse(self.0.from_status.as_deref()?).map(ContentStatus::from)
    }
    /// The state after.
    async fn to_status(&self) -> Option<ContentStatus> {
        Status::parse(self.0.to_status.as_deref()?).map(ContentStatus::from)
    }
    /// The HTTP request that made it (`x-request-id`).
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// Particulars, an object whose keys depend on the action (a comment,
    /// a schedule time, a message, a seed run's counts).
    async fn detail(&self) -> &serde_json::Value {
        &self.0.detail
    }
}

connection_type!(
    VersionConnection,
    VersionEdge,
    Version,
    "A page of an item's versions, newest first.",
    "A version and its position in the list."
);
connection_type!(
    CommentConnection,
    CommentEdge,
    Comment,
    "A page of an item's comments, oldest first.",
    "A comment and its position in the list."
);
connection_type!(
    AuditEntryConnection,
    AuditEntryEdge,
    AuditEntry,
    "A page of audit entries, newest first.",
    "An audit entry and its position in the list."
);

pub async fn versions(
    ctx: &Context<'_>,
    id: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Option<VersionConnection>> {
    if !may_preview(ctx) {
        return Ok(None);
    }
    let request = Forward::<i32>::new("versions", first, after.as_deref())?;
    let key = VersionsOf {
        id,
        limit: request.limit(),
        after: request.after,
    };
    let rows = loaders(ctx, Stage::Published)?
        .load_one(key)
        .await
        .map_err(internal)?
        .unwrap_or_default();
    let page = request.page(rows, |row| row.version).map(|row| Version {
        number: row.version,
        author: row.author_name.unwrap_or(row.author),
        created_at: row.created_at.into(),
        message: row.message,
    });
    Ok(Some(page.into()))
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
            .ok_or_else(|| super::error::bad_input(format!("there is no version {version}")))?;
        Ok(json.as_object().cloned().unwrap_or_default())
    };
    let (old, new) = (snapshot(from).await?, snapshot(to).await?);
    Ok(Some(
        crate::domain::content::differing_fields(&old, &new)
            .into_iter()
            .map(|field| FieldChange {
                from: old.get(&field).cloned(),
                to: new.get(&field).cloned(),
                field,
            })
            .collect(),
    ))
}

pub async fn comments(
    ctx: &Context<'_>,
    id: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Option<CommentConnection>> {
    if !may_preview(ctx) {
        return Ok(None);
    }
    let request = Forward::<(DateTime<Utc>, Uuid)>::new("comments", first, after.as_deref())?;
    let key = CommentsOf {
        id,
        limit: request.limit(),
        after: request.after,
    };
    let rows = loaders(ctx, Stage::Published)?
        .load_one(key)
        .await
        .map_err(internal)?
        .unwrap_or_default();
    let page = request
        .page(rows, |row| (row.comment.created_at, row.comment.id))
        .map(|row| Comment {
            id: ID(row.comment.id.to_string()),
            author: row.author_name.unwrap_or(row.comment.author),
            body: row.comment.body,
            version: row.comment.version,
            created_at: row.comment.created_at.into(),
        });
    Ok(Some(page.into()))
}

pub async fn history(
    ctx: &Context<'_>,
    id: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Option<AuditEntryConnection>> {
    if !may_preview(ctx) {
        return Ok(None);
    }
    let request = Forward::<i64>::new("history", first, after.as_deref())?;
    let key = HistoryOf {
        id,
        limit: request.limit(),
        after: request.after,
    };
    let rows = loaders(ctx, Stage::Published)?
        .load_one(key)
        .await
        .map_err(internal)?
        .unwrap_or_default();
    Ok(Some(
        request.page(rows, |row| row.id).map(AuditEntry).into(),
    ))
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

fn editorial_error(error: EditorialError, input_fields: bool) -> async_graphql::Error {
    match error {
        EditorialError::NotFound => client_error(ErrorCode::NotFound, "there is no such item"),
        EditorialError::Forbidden(forbidden) => super::error::forbidden(forbidden),
        EditorialError::Conflict { expected, current } => {
            client_error(ErrorCode::Conflict, error.to_string()).extend_with(|_, extensions| {
                extensions.set("currentVersion", current);
                extensions.set("expectedVersion", expected);
            })
        }
        EditorialError::InvalidTransition(refused) => {
            let message = refused.to_string();
            let status = refused.from.as_str().to_ascii_uppercase();
            let allowed: Vec<async_graphql::Value> = refused
                .allowed
                .iter()
                .map(|action| async_graphql::Value::from(action.name()))
                .collect();
            client_error(ErrorCode::InvalidTransition, message).extend_with(move |_, extensions| {
                extensions.set("status", status.as_str());
                extensions.set("allowedActions", allowed.clone());
            })
        }
        EditorialError::Invalid(errors) => {
            let path = |field: &str| {
                let argument = ["at", "comment", "toVersion", "resource", "position"];
                if input_fields && !argument.contains(&field) {
                    format!("input.{field}")
                } else {
                    field.to_string()
                }
            };
            let fields: Vec<(String, String)> = errors
                .iter()
                .map(|error| (path(error.field), error.to_string()))
                .collect();
            super::error::validation_failed_fields(fields)
        }
        EditorialError::UnknownStatus { .. } => internal(error),
        EditorialError::Database(error) => internal(error),
    }
}

fn editorial<'c>(ctx: &Context<'c>) -> &'c Editorial {
    ctx.data_unchecked::<Editorial>()
}

fn who(ctx: &Context<'_>) -> Who {
    let viewer = viewer(ctx);
    Who {
        actor: viewer.actor().clone(),
        request_id: viewer.request_id.clone(),
    }
}

fn document_id(id: &ID, kind: Option<Kind>) -> Result<Uuid> {
    match decode(id) {
        Some((node_type, uuid)) if kind.is_none_or(|kind| node_type.kind() == kind) => Ok(uuid),
        _ => Err(client_error(ErrorCode::NotFound, "there is no such item")),
    }
}

/// The item as its current draft reads, after a change.
async fn draft_item(ctx: &Context<'_>, kind: Kind, id: Uuid) -> Result<ContentItem> {
    let loaders = loaders(ctx, Stage::Draft)?;
    let stage = Stage::Draft;
    let missing = || internal(format!("document {id} has no draft projection"));
    Ok(match kind {
        Kind::Resource => ContentItem::Resource(Resource::at(stage)(
            loaders
                .load_one(ResourceById(id))
                .await
                .map_err(internal)?
                .ok_or_else(missing)?,
        )),
        Kind::Module => ContentItem::Module(Module::at(stage)(
            loaders
                .load_one(ModuleById(id))
                .await
                .map_err(internal)?
                .ok_or_else(missing)?,
        )),
        Kind::Topic => ContentItem::Topic(Topic::at(stage)(
            loaders
                .load_one(TopicById(id))
                .await
                .map_err(internal)?
                .ok_or_else(missing)?,
        )),
        Kind::ResourceType => ContentItem::ResourceType(ResourceType::at(stage)(
            loaders
                .load_one(ResourceTypeById(id))
                .await
                .map_err(internal)?
                .ok_or_else(missing)?,
        )),
        Kind::Tag => ContentItem::Tag(Tag::at(stage)(
            loaders
                .load_one(TagById(id))
                .await
                .map_err(internal)?
                .ok_or_else(missing)?,
        )),
    })
}

fn maybe<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => Some(Some(value)),
    }
}

/// A resource's fields; on update, those left out keep their values and
/// nullable ones set to null are cleared.
#[derive(InputObject)]
pub struct ResourceInput {
    /// Title; required when creating.
    title: Option<String>,
    /// URL-safe name; made from the title when creating without one.
    slug: Option<String>,
    /// Resource types by slug, in display order; at least one.
    types: Option<Vec<String>>,
    /// Year of publication.
    year: MaybeUndefined<i32>,
    /// Where to read or watch it (http or https).
    url: MaybeUndefined<String>,
    /// Who published it.
    publisher: MaybeUndefined<String>,
    /// A short summary.
    summary: MaybeUndefined<String>,
    /// Topics by slug, in display order.
    topics: Option<Vec<String>>,
    /// Tags by slug, in display order.
    tags: Option<Vec<String>>,
}

impl From<ResourceInput> for Patch {
    fn from(input: ResourceInput) -> Self {
        Patch::Resource(ResourcePatch {
            title: input.title,
            slug: input.slug,
            types: input.types,
            year: maybe(input.year),
            url: maybe(input.url),
            publisher: maybe(input.publisher),
            summary: maybe(input.summary),
            topics: input.topics,
            tags: input.tags,
        })
    }
}

/// A module's fields; on update, those left out keep their values.
#[derive(InputObject)]
pub struct ModuleInput {
    /// Page title; required when creating.
    title: Option<String>,
    /// URL-safe name; made from the title when creating without one.
    slug: Option<String>,
    /// The practice area, by topic slug.
    topic: MaybeUndefined<String>,
    /// Introduction, in Markdown.
    intro: Option<String>,
    /// Alternative text of the hero image.
    hero_image_alt: MaybeUndefined<String>,
    /// Heading above the resource list.
    resources_heading: MaybeUndefined<String>,
    /// Resources by slug, in page order.
    resources: Option<Vec<String>>,
    /// Tags by slug, in display order.
    tags: Option<Vec<String>>,
    /// Closing disclaimer.
    disclaimer: MaybeUndefined<String>,
}

impl From<ModuleInput> for Patch {
    fn from(input: ModuleInput) -> Self {
        Patch::Module(ModulePatch {
            title: input.title,
            slug: input.slug,
            topic: maybe(input.topic),
            intro: input.intro,
            hero_image_alt: maybe(input.hero_image_alt),
            resources_heading: maybe(input.resources_heading),
            resources: input.resources,
            tags: input.tags,
            disclaimer: maybe(input.disclaimer),
            resource_edit: None,
        })
    }
}

/// A topic's fields; on update, those left out keep their values.
#[derive(InputObject)]
pub struct TopicInput {
    /// Display name; required when creating.
    name: Option<String>,
    /// URL-safe name; made from the name when creating without one.
    slug: Option<String>,
    /// What the practice area covers.
    description: Option<String>,
    /// Other names that resolve to this topic.
    aliases: Option<Vec<String>>,
}

impl From<TopicInput> for Patch {
    fn from(input: TopicInput) -> Self {
        Patch::Topic(TopicPatch {
            name: input.name,
            slug: input.slug,
            description: input.description,
            aliases: input.aliases,
        })
    }
}

/// A tag's fields; on update, those left out keep their values.
#[derive(InputObject)]
pub struct TagInput {
    /// Display name; required when creating.
    name: Option<String>,
    /// URL-safe name; made from the name when creating without one.
    slug: Option<String>,
}

impl From<TagInput> for Patch {
    fn from(input: TagInput) -> Self {
        Patch::Tag(LabelPatch {
            name: input.name,
            slug: input.slug,
        })
    }
}

async fn create(ctx: &Context<'_>, patch: Patch, message: Option<String>) -> Result<ContentItem> {
    let kind = patch.kind();
    let mut conn = connection_to_db(ctx).await?;
    let id = editorial(ctx)
        .create(
            &mut conn,
            &who(ctx),
            &patch,
            message.as_deref().unwrap_or(""),
        )
        .await
        .map_err(|error| editorial_error(error, true))?;
    drop(conn);
    draft_item(ctx, kind, id).await
}

async fn update(
    ctx: &Context<'_>,
    id: &ID,
    expected_version: i32,
    patch: Patch,
    message: Option<String>,
) -> Result<ContentItem> {
    let kind = patch.kind();
    let uuid = document_id(id, Some(kind))?;
    let mut conn = connection_to_db(ctx).await?;
    editorial(ctx)
        .update(
            &mut conn,
            &who(ctx),
            uuid,
            expected_version,
            &patch,
            message.as_deref().unwrap_or(""),
        )
        .await
        .map_err(|error| editorial_error(error, true))?;
    drop(conn);
    draft_item(ctx, kind, uuid).await
}

async fn act(
    ctx: &Context<'_>,
    id: &ID,
    expected_version: Option<i32>,
    action: WorkflowAction,
    arguments: Arguments,
) -> Result<ContentItem> {
    let Some((node_type, uuid)) = decode(id) else {
        return Err(client_error(ErrorCode::NotFound, "there is no such item"));
    };
    let mut conn = connection_to_db(ctx).await?;
    editorial(ctx)
        .act(
            &mut conn,
            &who(ctx),
            uuid,
            expected_version,
            action,
            arguments,
        )
        .await
        .map_err(|error| editorial_error(error, false))?;
    drop(conn);
    draft_item(ctx, node_type.kind(), uuid).await
}

/// A workflow action that needs nothing but the item and its version.
async fn step(
    ctx: &Context<'_>,
    id: &ID,
    expected_version: i32,
    action: WorkflowAction,
) -> Result<ContentItem> {
    act(
        ctx,
        id,
        Some(expected_version),
        action,
        Arguments::default(),
    )
    .await
}

fn list_position(position: i32) -> Result<usize> {
    usize::try_from(position).map_err(|_| super::error::bad_input("`position` counts from 0"))
}

/// One edit of a module's resource list, made by the editorial service on
/// the list as it stands at `expected_version`.
async fn edit_module_resources(
    ctx: &Context<'_>,
    id: &ID,
    expected_version: i32,
    edit: ResourceEdit,
    message: Option<String>,
) -> Result<Module> {
    let patch = Patch::Module(ModulePatch {
        resource_edit: Some(edit),
        ..Default::default()
    });
    let item = update(ctx, id, expected_version, patch, message).await?;
    expect(item, |item| match item {
        ContentItem::Module(module) => Some(module),
        _ => None,
    })
}

fn expect<T>(item: ContentItem, pick: impl FnOnce(ContentItem) -> Option<T>) -> Result<T> {
    pick(item).ok_or_else(|| internal("a mutation returned another kind of item"))
}

#[derive(Default)]
pub struct EditorialMutation;

/// Content and workflow mutations.
#[Object]
impl EditorialMutation {
    /// Creates a resource as a draft owned by the caller. AUTHOR and up.
    async fn create_resource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its fields; `title` and `types` are required.")] input: ResourceInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Resource> {
        let item = create(ctx, input.into(), message).await?;
        expect(item, |item| match item {
            ContentItem::Resource(r) => Some(r),
            _ => None,
        })
    }

    /// Saves a new draft version of a resource. CONFLICT (with
    /// `extensions.currentVersion`) when `expectedVersion` is not current.
    async fn update_resource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The resource's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The fields to change.")] input: ResourceInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Resource> {
        let item = update(ctx, &id, expected_version, input.into(), message).await?;
        expect(item, |item| match item {
            ContentItem::Resource(r) => Some(r),
            _ => None,
        })
    }

    /// Creates a module as a draft owned by the caller. AUTHOR and up.
    async fn create_module(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its fields; `title` is required.")] input: ModuleInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Module> {
        let item = create(ctx, input.into(), message).await?;
        expect(item, |item| match item {
            ContentItem::Module(m) => Some(m),
            _ => None,
        })
    }

    /// Saves a new draft version of a module (see `updateResource`).
    async fn update_module(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The module's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The fields to change.")] input: ModuleInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Module> {
        let item = update(ctx, &id, expected_version, input.into(), message).await?;
        expect(item, |item| match item {
            ContentItem::Module(m) => Some(m),
            _ => None,
        })
    }

    /// Adds one resource to a module's ordered list, at `position` or at
    /// the end, without resending the rest. CONFLICT (with
    /// `extensions.currentVersion`) when `expectedVersion` is not current.
    async fn add_module_resource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The module's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The resource, by slug.")] resource: String,
        #[graphql(desc = "Where it goes, counting from 0; at the end when omitted.")]
        position: Option<i32>,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Module> {
        let position = position.map(list_position).transpose()?;
        let edit = ResourceEdit::Add {
            slug: resource,
            position,
        };
        edit_module_resources(ctx, &id, expected_version, edit, message).await
    }

    /// Takes one resource out of a module's ordered list (see
    /// `addModuleResource`).
    async fn remove_module_resource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The module's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The resource, by slug.")] resource: String,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Module> {
        let edit = ResourceEdit::Remove { slug: resource };
        edit_module_resources(ctx, &id, expected_version, edit, message).await
    }

    /// Moves one resource of a module's ordered list to `position` (see
    /// `addModuleResource`).
    async fn move_module_resource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The module's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The resource, by slug.")] resource: String,
        #[graphql(desc = "Its new place, counting from 0.")] position: i32,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Module> {
        let edit = ResourceEdit::Move {
            slug: resource,
            position: list_position(position)?,
        };
        edit_module_resources(ctx, &id, expected_version, edit, message).await
    }

    /// Creates a topic as a draft owned by the caller. AUTHOR and up.
    async fn create_topic(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its fields; `name` is required.")] input: TopicInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Topic> {
        let item = create(ctx, input.into(), message).await?;
        expect(item, |item| match item {
            ContentItem::Topic(t) => Some(t),
            _ => None,
        })
    }

    /// Saves a new draft version of a topic (see `updateResource`).
    async fn update_topic(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The topic's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The fields to change.")] input: TopicInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Topic> {
        let item = update(ctx, &id, expected_version, input.into(), message).await?;
        expect(item, |item| match item {
            ContentItem::Topic(t) => Some(t),
            _ => None,
        })
    }

    /// Creates a tag as a draft owned by the caller. AUTHOR and up.
    async fn create_tag(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its fields; `name` is required.")] input: TagInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Tag> {
        let item = create(ctx, input.into(), message).await?;
        expect(item, |item| match item {
            ContentItem::Tag(t) => Some(t),
            _ => None,
        })
    }

    /// Saves a new draft version of a tag (see `updateResource`).
    async fn update_tag(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tag's global id.")] id: ID,
        #[graphql(desc = "The `version` the change was made on.")] expected_version: i32,
        #[graphql(desc = "The fields to change.")] input: TagInput,
        #[graphql(desc = "A note for the version history.")] message: Option<String>,
    ) -> Result<Tag> {
        let item = update(ctx, &id, expected_version, input.into(), message).await?;
        expect(item, |item| match item {
            ContentItem::Tag(t) => Some(t),
            _ => None,
        })
    }

    /// Sends a draft to review (DRAFT or CHANGES_REQUESTED → IN_REVIEW).
    async fn submit_for_review(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
    ) -> Result<ContentItem> {
        step(ctx, &id, expected_version, WorkflowAction::SubmitForReview).await
    }

    /// Sends a draft back with a comment (IN_REVIEW or APPROVED → CHANGES_REQUESTED). EDITOR and up.
    async fn request_changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
        #[graphql(desc = "What to change.")] comment: String,
    ) -> Result<ContentItem> {
        let arguments = Arguments {
            comment: Some(comment),
            ..Default::default()
        };
        act(
            ctx,
            &id,
            Some(expected_version),
            WorkflowAction::RequestChanges,
            arguments,
        )
        .await
    }

    /// Approves a draft in review (IN_REVIEW → APPROVED). EDITOR and up.
    async fn approve(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
    ) -> Result<ContentItem> {
        step(ctx, &id, expected_version, WorkflowAction::Approve).await
    }

    /// Publishes the current draft (APPROVED → PUBLISHED; with review not
    /// required, from any draft state). PUBLISHER and up.
    async fn publish(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
    ) -> Result<ContentItem> {
        step(ctx, &id, expected_version, WorkflowAction::Publish).await
    }

    /// Takes the published version off the public side; the draft stays.
    /// PUBLISHER and up.
    async fn unpublish(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
    ) -> Result<ContentItem> {
        step(ctx, &id, expected_version, WorkflowAction::Unpublish).await
    }

    /// Withdraws an item and sets it aside. PUBLISHER and up.
    async fn archive(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
    ) -> Result<ContentItem> {
        step(ctx, &id, expected_version, WorkflowAction::Archive).await
    }

    /// Brings an archived item back as a draft. PUBLISHER and up.
    async fn restore(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
    ) -> Result<ContentItem> {
        step(ctx, &id, expected_version, WorkflowAction::Restore).await
    }

    /// Publishes the item at a future time (same precondition as `publish`).
    /// PUBLISHER and up.
    async fn schedule_publish(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
        #[graphql(desc = "When, in the future.")] at: Timestamp,
    ) -> Result<ContentItem> {
        let arguments = Arguments {
            at: Some(at.0),
            ..Default::default()
        };
        act(
            ctx,
            &id,
            Some(expected_version),
            WorkflowAction::SchedulePublish,
            arguments,
        )
        .await
    }

    /// Unpublishes the item at a future time. PUBLISHER and up.
    async fn schedule_unpublish(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
        #[graphql(desc = "When, in the future.")] at: Timestamp,
    ) -> Result<ContentItem> {
        let arguments = Arguments {
            at: Some(at.0),
            ..Default::default()
        };
        act(
            ctx,
            &id,
            Some(expected_version),
            WorkflowAction::ScheduleUnpublish,
            arguments,
        )
        .await
    }

    /// Cancels scheduled publishing and unpublishing. PUBLISHER and up.
    async fn cancel_schedule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
    ) -> Result<ContentItem> {
        step(ctx, &id, expected_version, WorkflowAction::CancelSchedule).await
    }

    /// Makes a new draft version equal to an old one; history keeps both.
    async fn revert(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The `version` the action was decided on.")] expected_version: i32,
        #[graphql(desc = "The version to bring back.")] to_version: i32,
    ) -> Result<ContentItem> {
        let Some((node_type, uuid)) = decode(&id) else {
            return Err(client_error(ErrorCode::NotFound, "there is no such item"));
        };
        let mut conn = connection_to_db(ctx).await?;
        editorial(ctx)
            .revert(&mut conn, &who(ctx), uuid, expected_version, to_version)
            .await
            .map_err(|error| editorial_error(error, false))?;
        drop(conn);
        draft_item(ctx, node_type.kind(), uuid).await
    }

    /// Comments on an item, in any state. AUTHOR and up.
    async fn add_comment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any content item's global id.")] id: ID,
        #[graphql(desc = "The comment.")] body: String,
    ) -> Result<ContentItem> {
        let arguments = Arguments {
            comment: Some(body),
            ..Default::default()
        };
        act(ctx, &id, None, WorkflowAction::Comment, arguments).await
    }
}

/// Which audit entries to list.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Entries about this item (global id).
    item_id: Option<ID>,
    /// Entries by this actor (`user:<id>`, `token:<id>`, `scheduler`).
    actor: Option<String>,
    /// Entries of this action (`publish`, `update`, …).
    action: Option<String>,
}

#[derive(Default)]
pub struct EditorialQuery;

/// Editorial queries.
#[Object]
impl EditorialQuery {
    /// The audit log, newest first. ADMIN only.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which entries; all when omitted.")] filter: Option<AuditLogFilter>,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<AuditEntryConnection> {
        require(ctx, Action::ReadAuditLog)?;
        let request = Forward::<i64>::new("auditLog", first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let document_id = match &filter.item_id {
            Some(id) => Some(document_id(id, None)?),
            None => None,
        };
        let mut conn = connection_to_db(ctx).await?;
        let rows = store::audit_entries(
            &mut conn,
            &StoreAuditFilter {
                document_id,
                actor: filter.actor,
                action: filter.action,
            },
            request.after,
            request.limit(),
        )
        .await
        .map_err(internal)?;
        Ok(request.page(rows, |row| row.id).map(AuditEntry).into())
    }
}
