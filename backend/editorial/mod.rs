//! Carrying out editors' changes: each one locks the document, checks who
//! may do it and whether the state machine allows it, writes the change and
//! its audit entry in one transaction. The rules themselves are the
//! domain's ([`crate::domain::workflow`], [`crate::domain::access`]).

pub mod scheduler;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::db::documents::{self, Author};
use crate::db::editorial::{self as store, CommentRow, DocumentMeta, NewAuditEntry};
use crate::domain::access::{self, Action, Actor, Forbidden};
use crate::domain::patch::Patch;
use crate::domain::validation::{FieldError, publish_problems, validate};
use crate::domain::webhook::EventType;
use crate::domain::workflow::{
    self, DocumentState, Effect, InvalidTransition, Policy, Status, WorkflowAction,
};
use crate::domain::{Content, Kind};
use crate::events;

#[derive(Debug, thiserror::Error)]
pub enum EditorialError {
    #[error("there is no such item")]
    NotFound,
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(
        "the item has changed: it is at version {current}, not {expected}; reload it and apply your change again"
    )]
    Conflict { expected: i32, current: i32 },
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    #[error("{}", describe(.0))]
    Invalid(Vec<FieldError>),
    /// A stored status this build does not know: the database holds
    /// something no code of ours wrote (a newer version's, or a hand edit).
    /// Treating it as a draft would let actions run that its real state
    /// forbids.
    #[error("item {id} has an unknown status {status:?}")]
    UnknownStatus { id: Uuid, status: String },
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn invalid(field: &'static str, message: impl Into<String>) -> EditorialError {
    EditorialError::Invalid(vec![FieldError {
        field,
        message: message.into(),
    }])
}

type EditorialResult<T> = Result<T, EditorialError>;

/// Who makes a change, as versions and the audit log record it.
#[derive(Debug, Clone)]
pub struct Who {
    pub actor: Actor,
    pub request_id: Option<String>,
}

impl Who {
    fn label(&self) -> String {
        self.actor.label()
    }

    fn author<'a>(&self, label: &'a str) -> Author<'a> {
        Author {
            label,
            user_id: self.actor.user_id(),
        }
    }
}

/// What an action needs besides the item.
#[derive(Debug, Clone, Default)]
pub struct Arguments {
    pub at: Option<DateTime<Utc>>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Editorial {
    pub policy: Policy,
}

impl Default for Editorial {
    fn default() -> Self {
        Editorial {
            policy: Policy {
                review_required: true,
            },
        }
    }
}

fn state_of(meta: &DocumentMeta) -> EditorialResult<DocumentState> {
    let status = Status::parse(&meta.status).ok_or_else(|| EditorialError::UnknownStatus {
        id: meta.id,
        status: meta.status.clone(),
    })?;
    Ok(DocumentState {
        status,
        published: meta.published_version.is_some(),
        scheduled: meta.scheduled_publish_at.is_some() || meta.scheduled_unpublish_at.is_some(),
    })
}

async fn locked(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    kind: Option<Kind>,
) -> EditorialResult<DocumentMeta> {
    let meta = store::lock(conn, id)
        .await?
        .ok_or(EditorialError::NotFound)?;
    if kind.is_some_and(|kind| kind.as_str() != meta.kind) {
        return Err(EditorialError::NotFound);
    }
    Ok(meta)
}

fn authorize(who: &Who, meta: &DocumentMeta, action: WorkflowAction) -> EditorialResult<()> {
    let own = meta.owner_id.is_some() && meta.owner_id == who.actor.user_id();
    access::authorize(&who.actor, action.permission(own))?;
    Ok(())
}

fn check_version(meta: &DocumentMeta, expected: i32) -> EditorialResult<()> {
    if meta.draft_version != expected {
        return Err(EditorialError::Conflict {
            expected,
            current: meta.draft_version,
        });
    }
    Ok(())
}

async fn content_at(
    conn: &mut AsyncPgConnection,
    meta: &DocumentMeta,
    version: i32,
) -> EditorialResult<Content> {
    let json = store::version_content(conn, meta.id, version)
        .await?
        .ok_or_else(|| invalid("toVersion", format!("there is no version {version}")))?;
    let kind = Kind::parse(&meta.kind).ok_or(EditorialError::NotFound)?;
    Content::from_json(kind, json).map_err(|error| {
        EditorialError::Database(diesel::result::Error::DeserializationError(Box::new(error)))
    })
}

/// The snapshot `patch` makes of `current`, with its slugs looked up and
/// every rule checked.
async fn next_content(
    conn: &mut AsyncPgConnection,
    patch: &Patch,
    current: Option<&Content>,
    id: Option<Uuid>,
) -> EditorialResult<Content> {
    let mut found: HashMap<(Kind, String), Uuid> = HashMap::new();
    for reference in patch.references() {
        let slugs: Vec<String> = reference
            .slugs
            .iter()
            .map(|slug| slug.to_string())
            .collect();
        for (slug, id) in store::ids_by_slug(conn, reference.kind.as_str(), &slugs).await? {
            found.insert((reference.kind, slug), id);
        }
    }
    let next = patch
        .apply(current, |kind, slug| {
            found.get(&(kind, slug.to_string())).copied()
        })
        .map_err(EditorialError::Invalid)?;
    check(conn, &next, id).await?;
    Ok(next)
}

async fn check(
    conn: &mut AsyncPgConnection,
    content: &Content,
    id: Option<Uuid>,
) -> EditorialResult<()> {
    let errors = validate(content);
    if !errors.is_empty() {
        return Err(EditorialError::Invalid(errors));
    }
    if store::slug_taken(conn, content.kind().as_str(), content.slug(), id).await? {
        return Err(invalid("slug", "another item of this kind already uses it"));
    }
    Ok(())
}

fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

struct Change<'a> {
    action: &'a str,
    meta: &'a DocumentMeta,
    to_version: i32,
    to_status: Status,
    detail: serde_json::Value,
}

async fn record(
    conn: &mut AsyncPgConnection,
    who: &Who,
    change: Change<'_>,
) -> EditorialResult<()> {
    let label = who.label();
    store::audit(
        conn,
        &NewAuditEntry {
            actor: &label,
            actor_user_id: who.actor.user_id(),
            action: change.action,
            document_id: Some(change.meta.id),
            kind: Some(&change.meta.kind),
            from_version: (change.meta.draft_version > 0).then_some(change.meta.draft_version),
            to_version: Some(change.to_version),
            from_status: (!change.meta.status.is_empty()).then_some(change.meta.status.as_str()),
            to_status: Some(change.to_status.as_str()),
            request_id: who.request_id.as_deref(),
            detail: change.detail,
        },
    )
    .await?;
    Ok(())
}

/// Records that a publish schedule was dropped because the draft is no
/// longer the version scheduled, in the audit log and as a comment on the
/// item, where its editors see it.
async fn void_publish_schedule(
    conn: &mut AsyncPgConnection,
    who: &Who,
    meta: &DocumentMeta,
    action: &str,
    voided: &workflow::ScheduleVoided,
) -> EditorialResult<()> {
    let reason = voided.to_string();
    record(
        conn,
        who,
        Change {
            action,
            meta,
            to_version: voided.current,
            to_status: state_of(meta)?.status,
            detail: serde_json::json!({
                "action": WorkflowAction::Publish.name(),
                "scheduledVersion": voided.scheduled,
                "reason": reason,
            }),
        },
    )
    .await?;
    store::insert_comment(
        conn,
        &CommentRow {
            id: Uuid::now_v7(),
            document_id: meta.id,
            version: voided.current,
            author_id: None,
            author: Actor::Scheduler.label(),
            body: format!("The scheduled publish was cancelled: {reason}."),
            created_at: Utc::now(),
        },
    )
    .await?;
    Ok(())
}

/// Writes the outbox event of a change partners must hear about, in the
/// change's own transaction.
async fn announce(
    conn: &mut AsyncPgConnection,
    who: &Who,
    meta: &DocumentMeta,
    event: EventType,
    version: i32,
    snapshot: Option<&Content>,
) -> EditorialResult<()> {
    let kind = Kind::parse(&meta.kind).ok_or(EditorialError::NotFound)?;
    // Receivers are told only what is or was public: links to documents
    // that are not published are left out, as partner reads leave them out.
    let snapshot = match snapshot {
        Some(content) => {
            let published = store::published_among(conn, &content.linked_ids()).await?;
            let mut public = content.clone();
            public.retain_links(|id| published.contains(id));
            Some(public)
        }
        None => None,
    };
    let snapshot = snapshot.as_ref();
    let origin = events::Origin {
        actor: who.label(),
        request_id: who.request_id.clone(),
    };
    let item = events::Item {
        id: meta.id,
        kind,
        // The slug partners know it by: the snapshot's, when there is one.
        slug: snapshot.map_or(meta.slug.as_str(), Content::slug),
        version,
    };
    events::emit_item_event(conn, event, &item, snapshot, &origin).await?;
    Ok(())
}

impl Editorial {
    /// A new item, as a draft owned by its creator.
    pub async fn create(
        &self,
        conn: &mut AsyncPgConnection,
        who: &Who,
        patch: &Patch,
        message: &str,
    ) -> EditorialResult<Uuid> {
        access::authorize(&who.actor, Action::CreateDraft)?;
        conn.transaction::<_, EditorialError, _>(async |conn| {
            let content = next_content(conn, patch, None, None).await?;
            let id = Uuid::now_v7();
            let label = who.label();
            documents::create_draft(conn, id, &content, who.author(&label), message).await?;
            let meta = DocumentMeta {
                id,
                kind: content.kind().as_str().to_string(),
                slug: content.slug().to_string(),
                status: String::new(),
                draft_version: 0,
                published_version: None,
                owner_id: who.actor.user_id(),
                scheduled_publish_at: None,
                scheduled_unpublish_at: None,
                updated_at: Utc::now(),
                scheduled_publish_version: None,
            };
            let detail = serde_json::json!({ "message": message });
            record(
                conn,
                who,
                Change {
                    action: "create",
                    meta: &meta,
                    to_version: 1,
                    to_status: Status::Draft,
                    detail,
                },
            )
            .await?;
            Ok(id)
        })
        .await
    }

    /// A new draft version with `patch` applied, if `expected` is still the
    /// current version. An edit that changes nothing writes nothing.
    pub async fn update(
        &self,
        conn: &mut AsyncPgConnection,
        who: &Who,
        id: Uuid,
        expected: i32,
        patch: &Patch,
        message: &str,
    ) -> EditorialResult<()> {
        conn.transaction::<_, EditorialError, _>(async |conn| {
            let meta = locked(conn, id, Some(patch.kind())).await?;
            let transition = self.begin(who, &meta, WorkflowAction::Edit, expected)?;
            let current = content_at(conn, &meta, meta.draft_version).await?;
            let next = next_content(conn, patch, Some(&current), Some(id)).await?;
            if next == current {
                return Ok(());
            }
            self.save(
                conn,
                who,
                &meta,
                &next,
                transition.to,
                "update",
                serde_json::json!({ "message": message }),
                message,
            )
            .await
        })
        .await
    }

    /// A new draft version equal to an old one.
    pub async fn revert(
        &self,
        conn: &mut AsyncPgConnection,
        who: &Who,
        id: Uuid,
        expected: i32,
        to_version: i32,
    ) -> EditorialResult<()> {
        conn.transaction::<_, EditorialError, _>(async |conn| {
            let meta = locked(conn, id, None).await?;
            let transition = self.begin(who, &meta, WorkflowAction::Edit, expected)?;
            let old = content_at(conn, &meta, to_version).await?;
            check(conn, &old, Some(id)).await?;
            let message = format!("Reverted to version {to_version}");
            let detail = serde_json::json!({ "toVersion": to_version });
            self.save(
                conn,
                who,
                &meta,
                &old,
                transition.to,
                "revert",
                detail,
                &message,
            )
            .await
        })
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn save(
        &self,
        conn: &mut AsyncPgConnection,
        who: &Who,
        meta: &DocumentMeta,
        content: &Content,
        to_status: Status,
        action: &str,
        detail: serde_json::Value,
        message: &str,
    ) -> EditorialResult<()> {
        let label = who.label();
        let version =
            documents::save_draft(conn, meta.id, content, who.author(&label), message).await?;
        store::set_status(conn, meta.id, to_status.as_str()).await?;
        if meta.scheduled_publish_at.is_some() {
            // The schedule was for the version a publisher chose; this one
            // needs its own decision.
            store::set_schedule(conn, meta.id, None, meta.scheduled_unpublish_at).await?;
            let voided = workflow::ScheduleVoided {
                scheduled: meta.scheduled_publish_version.unwrap_or(meta.draft_version),
                current: version,
            };
            void_publish_schedule(conn, who, meta, "scheduleCancelled", &voided).await?;
        }
        record(
            conn,
            who,
            Change {
                action,
                meta,
                to_version: version,
                to_status,
                detail,
            },
        )
        .await
    }

    /// Permission, version and state checks, in that order: a caller who
    /// may not act learns nothing about the item's version.
    fn begin(
        &self,
        who: &Who,
        meta: &DocumentMeta,
        action: WorkflowAction,
        expected: i32,
    ) -> EditorialResult<workflow::Transition> {
        authorize(who, meta, action)?;
        check_version(meta, expected)?;
        Ok(workflow::transition(state_of(meta)?, action, self.policy)?)
    }

    /// The workflow actions `who` may take on the item now: those its state
    /// allows (the state machine) that `who`'s role allows on it (the
    /// permission table, which tells own items from others').
    pub fn allowed_actions(
        &self,
        who: &Who,
        meta: &DocumentMeta,
    ) -> EditorialResult<Vec<WorkflowAction>> {
        Ok(workflow::allowed_actions(state_of(meta)?, self.policy)
            .into_iter()
            .filter(|action| authorize(who, meta, *action).is_ok())
            .collect())
    }

    /// A workflow action on any item: review, publishing, scheduling,
    /// archiving, comments.
    pub async fn act(
        &self,
        conn: &mut AsyncPgConnection,
        who: &Who,
        id: Uuid,
        expected: Option<i32>,
        action: WorkflowAction,
        arguments: Arguments,
    ) -> EditorialResult<()> {
        conn.transaction::<_, EditorialError, _>(async |conn| {
            let meta = locked(conn, id, None).await?;
            authorize(who, &meta, action)?;
            if let Some(expected) = expected {
                check_version(&meta, expected)?;
            }
            self.carry_out(conn, who, &meta, action, &arguments).await
        })
        .await
    }

    /// Carries out `action` on a locked document whose actor was already
    /// authorized (or is the scheduler, acting on an authorized schedule).
    async fn carry_out(
        &self,
        conn: &mut AsyncPgConnection,
        who: &Who,
        meta: &DocumentMeta,
        action: WorkflowAction,
        arguments: &Arguments,
    ) -> EditorialResult<()> {
        let transition = workflow::transition(state_of(meta)?, action, self.policy)?;
        let mut detail = serde_json::Map::new();
        let scheduled_publish = meta
            .scheduled_publish_at
            .zip(meta.scheduled_publish_version);
        let mut publish = scheduled_publish;
        let mut unpublish_at = meta.scheduled_unpublish_at;
        match transition.effect {
            Effect::None | Effect::NewVersion => {}
            Effect::PublishDraft => {
                let content = content_at(conn, meta, meta.draft_version).await?;
                let problems = publish_problems(&content);
                if !problems.is_empty() {
                    return Err(EditorialError::Invalid(problems));
                }
                documents::publish(conn, meta.id, &content)
                    .await
                    .map_err(|error| {
                        if is_unique_violation(&error) {
                            invalid("slug", "a published item of this kind already uses it")
                        } else {
                            error.into()
                        }
                    })?;
                publish = None;
                announce(
                    conn,
                    who,
                    meta,
                    EventType::Published,
                    meta.draft_version,
                    Some(&content),
                )
                .await?;
            }
            Effect::Withdraw => {
                let content = content_at(conn, meta, meta.draft_version).await?;
                // What the public saw until now, for receivers purging it.
                let withdrawn = match meta.published_version {
                    Some(version) => Some(content_at(conn, meta, version).await?),
                    None => None,
                };
                documents::withdraw(conn, meta.id, &content, transition.to.as_str()).await?;
                unpublish_at = None;
                let event = if transition.to == Status::Archived {
                    publish = None;
                    EventType::Archived
                } else {
                    EventType::Unpublished
                };
                // Archiving a draft the public never saw changes nothing
                // public: receivers hear nothing of it, not even its slug.
                if let (Some(version), Some(withdrawn)) = (meta.published_version, &withdrawn) {
                    announce(conn, who, meta, event, version, Some(withdrawn)).await?;
                }
            }
            Effect::SetPublishSchedule | Effect::SetUnpublishSchedule => {
                let at = arguments.at.ok_or_else(|| invalid("at", "is required"))?;
                if at <= Utc::now() {
                    return Err(invalid("at", "must be in the future"));
                }
                detail.insert("at".into(), at.to_rfc3339().into());
                if transition.effect == Effect::SetPublishSchedule {
                    // Refused now rather than failing at the scheduled time.
                    let content = content_at(conn, meta, meta.draft_version).await?;
                    let problems = publish_problems(&content);
                    if !problems.is_empty() {
                        return Err(EditorialError::Invalid(problems));
                    }
                    detail.insert("version".into(), meta.draft_version.into());
                    publish = Some((at, meta.draft_version));
                } else {
                    unpublish_at = Some(at);
                }
            }
            Effect::ClearSchedules => {
                publish = None;
                unpublish_at = None;
            }
        }
        if let Some(comment) = &arguments.comment {
            let body = comment.trim();
            if body.is_empty() || body.chars().count() > 10_000 {
                return Err(invalid("comment", "must be between 1 and 10000 characters"));
            }
            store::insert_comment(
                conn,
                &CommentRow {
                    id: Uuid::now_v7(),
                    document_id: meta.id,
                    version: meta.draft_version,
                    author_id: who.actor.user_id(),
                    author: who.label(),
                    body: body.to_string(),
                    created_at: Utc::now(),
                },
            )
            .await?;
            detail.insert("comment".into(), body.into());
        }
        if (publish, unpublish_at) != (scheduled_publish, meta.scheduled_unpublish_at) {
            store::set_schedule(conn, meta.id, publish, unpublish_at).await?;
        }
        store::set_status(conn, meta.id, transition.to.as_str()).await?;
        record(
            conn,
            who,
            Change {
                action: action.name(),
                meta,
                to_version: meta.draft_version,
                to_status: transition.to,
                detail: detail.into(),
            },
        )
        .await
    }
}
