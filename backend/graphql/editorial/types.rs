//! The editorial types partners never see: workflow status, versions,
//! comments, audit entries and who made them.

use crate::graphql::scalars::Timestamp;
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use uuid::Uuid;

use crate::db::editorial::{AuditRow, DocumentMeta};
use crate::domain::access::{self, Action};
use crate::domain::workflow::Status;
use crate::domain::{Kind, Stage};
use crate::graphql::access::{loaders, viewer};
use crate::graphql::error::internal;
use crate::graphql::ids::{NodeType, encode};
use crate::graphql::loaders::{ActorRef, MetaById};
use crate::graphql::paging::connection_type;

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

/// A workflow action, each carried out by the mutation of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::domain::workflow::WorkflowAction")]
pub enum ContentAction {
    /// Change the draft (`updateResource`, `updateTag`, …).
    Edit,
    /// Send the draft to an editor (`submitForReview`).
    SubmitForReview,
    /// Send it back to its author with a comment (`requestChanges`).
    RequestChanges,
    /// Accept it for publishing (`approve`).
    Approve,
    /// Make the draft public now (`publish`).
    Publish,
    /// Withdraw it from the public (`unpublish`).
    Unpublish,
    /// Set it aside (`archive`).
    Archive,
    /// Bring it back from the archive as a draft (`restore`).
    Restore,
    /// Publish it at a given time (`schedulePublish`).
    SchedulePublish,
    /// Withdraw it at a given time (`scheduleUnpublish`).
    ScheduleUnpublish,
    /// Drop a scheduled publish or unpublish (`cancelSchedule`).
    CancelSchedule,
    /// Add a comment (`addComment`).
    Comment,
}

/// Whether the request may see editor-facing fields.
pub(super) fn may_preview(ctx: &Context<'_>) -> bool {
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
    pub(super) number: i32,
    /// Who wrote it: a user's name, or what wrote it (`seed:<run>`, `scheduler`).
    pub(super) author: String,
    /// When it was written.
    pub(super) created_at: Timestamp,
    /// What the author said about it.
    pub(super) message: String,
}

/// A field that differs between two versions.
#[derive(SimpleObject)]
pub struct FieldChange {
    /// The field, as the read API names it.
    pub(super) field: String,
    /// Its value in the older version (a string, number or list; links to
    /// other items by slug); null when absent or empty.
    pub(super) from: Option<serde_json::Value>,
    /// Its value in the newer version; null when absent or empty.
    pub(super) to: Option<serde_json::Value>,
}

/// A comment on an item.
#[derive(SimpleObject)]
pub struct Comment {
    /// Stable id.
    pub(super) id: ID,
    /// Who wrote it.
    pub(super) author: String,
    /// The text.
    pub(super) body: String,
    /// The draft version it was written on.
    pub(super) version: i32,
    /// When.
    pub(super) created_at: Timestamp,
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
pub struct AuditEntry(pub(super) AuditRow);

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
    ContentConnection,
    ContentEdge,
    crate::graphql::content::types::ContentItem,
    "A page of content items of any kind, most recently changed first.",
    "A content item and its position in the list."
);
connection_type!(
    AuditEntryConnection,
    AuditEntryEdge,
    AuditEntry,
    "A page of audit entries, newest first.",
    "An audit entry and its position in the list."
);
