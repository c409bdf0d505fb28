//! The editorial state machine: which actions each state allows, what they
//! lead to, and which permission each needs. Plain functions over plain
//! data; the database and GraphQL layers only carry out what these decide.
//!
//! | from \ action      | edit              | submit    | request changes   | approve  | publish¹  | unpublish² | archive  | restore |
//! |--------------------|-------------------|-----------|-------------------|----------|-----------|------------|----------|---------|
//! | DRAFT              | DRAFT             | IN_REVIEW | –                 | –        | PUBLISHED³| DRAFT      | ARCHIVED | –       |
//! | IN_REVIEW          | IN_REVIEW         | –         | CHANGES_REQUESTED | APPROVED | PUBLISHED³| IN_REVIEW  | ARCHIVED | –       |
//! | CHANGES_REQUESTED  | CHANGES_REQUESTED | IN_REVIEW | –                 | –        | PUBLISHED³| CH._REQ.   | ARCHIVED | –       |
//! | APPROVED           | DRAFT             | –         | CHANGES_REQUESTED | –        | PUBLISHED | APPROVED   | ARCHIVED | –       |
//! | PUBLISHED          | DRAFT             | –         | –                 | –        | –         | DRAFT      | ARCHIVED | –       |
//! | ARCHIVED           | –                 | –         | –                 | –        | –         | –          | –        | DRAFT   |
//!
//! ¹ `schedulePublish` has the same precondition and changes no state until
//!   the time comes. ² Only while a version is published; `scheduleUnpublish`
//!   likewise. ³ Only when review is not required (it is by default).
//! `comment` is allowed in every state; `cancelSchedule` whenever something
//! is scheduled; `revert` is an edit.

use super::access::Action;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Draft,
    InReview,
    ChangesRequested,
    Approved,
    Published,
    Archived,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Draft,
        Status::InReview,
        Status::ChangesRequested,
        Status::Approved,
        Status::Published,
        Status::Archived,
    ];

    /// The name stored in `documents.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::InReview => "in_review",
            Status::ChangesRequested => "changes_requested",
            Status::Approved => "approved",
            Status::Published => "published",
            Status::Archived => "archived",
        }
    }

    pub fn parse(value: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }

    pub fn label(self) -> String {
        self.as_str().to_ascii_uppercase()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkflowAction {
    Edit,
    SubmitForReview,
    RequestChanges,
    Approve,
    Publish,
    Unpublish,
    Archive,
    Restore,
    SchedulePublish,
    ScheduleUnpublish,
    CancelSchedule,
    Comment,
}

impl WorkflowAction {
    pub const ALL: [WorkflowAction; 12] = [
        WorkflowAction::Edit,
        WorkflowAction::SubmitForReview,
        WorkflowAction::RequestChanges,
        WorkflowAction::Approve,
        WorkflowAction::Publish,
        WorkflowAction::Unpublish,
        WorkflowAction::Archive,
        WorkflowAction::Restore,
        WorkflowAction::SchedulePublish,
        WorkflowAction::ScheduleUnpublish,
        WorkflowAction::CancelSchedule,
        WorkflowAction::Comment,
    ];

    /// The name of the mutation, as errors and the audit log show it.
    pub fn name(self) -> &'static str {
        match self {
            WorkflowAction::Edit => "update",
            WorkflowAction::SubmitForReview => "submitForReview",
            WorkflowAction::RequestChanges => "requestChanges",
            WorkflowAction::Approve => "approve",
            WorkflowAction::Publish => "publish",
            WorkflowAction::Unpublish => "unpublish",
            WorkflowAction::Archive => "archive",
            WorkflowAction::Restore => "restore",
            WorkflowAction::SchedulePublish => "schedulePublish",
            WorkflowAction::ScheduleUnpublish => "scheduleUnpublish",
            WorkflowAction::CancelSchedule => "cancelSchedule",
            WorkflowAction::Comment => "addComment",
        }
    }

    /// The permission it needs; `own` says whether the actor created the
    /// document (authors may edit and submit only their own).
    pub fn permission(self, own: bool) -> Action {
        match self {
            WorkflowAction::Edit | WorkflowAction::SubmitForReview if !own => Action::EditAnyDraft,
            WorkflowAction::Edit => Action::EditOwnDraft,
            WorkflowAction::SubmitForReview => Action::SubmitForReview,
            WorkflowAction::RequestChanges => Action::RequestChanges,
            WorkflowAction::Approve => Action::Approve,
            WorkflowAction::Publish => Action::Publish,
            WorkflowAction::Unpublish => Action::Unpublish,
            WorkflowAction::Archive | WorkflowAction::Restore => Action::Archive,
            WorkflowAction::SchedulePublish
            | WorkflowAction::ScheduleUnpublish
            | WorkflowAction::CancelSchedule => Action::Schedule,
            WorkflowAction::Comment => Action::Comment,
        }
    }
}

/// What the state machine needs to know about a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentState {
    pub status: Status,
    /// A version is published (the public sees it).
    pub published: bool,
    pub scheduled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// `publish` needs an APPROVED draft.
    pub review_required: bool,
}

/// What carrying out an allowed action does besides setting the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing else.
    None,
    /// A new draft version is written.
    NewVersion,
    /// The draft becomes the published version.
    PublishDraft,
    /// The published version is taken off the public side.
    Withdraw,
    SetPublishSchedule,
    SetUnpublishSchedule,
    ClearSchedules,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub to: Status,
    pub effect: Effect,
}

/// The action is not allowed in the document's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot {} an item that is {}{}; allowed now: {}",
    .action.name(),
    .from.label(),
    if *.published { " (with a published version)" } else { "" },
    if .allowed.is_empty() { "nothing".to_string() } else { .allowed.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ") }
)]
pub struct InvalidTransition {
    pub from: Status,
    pub published: bool,
    pub action: WorkflowAction,
    pub allowed: Vec<WorkflowAction>,
}

/// A due publish schedule found a draft other than the one scheduled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "version {scheduled} was scheduled for publishing, but the draft is now version {current}; a publisher must schedule it again"
)]
pub struct ScheduleVoided {
    pub scheduled: i32,
    pub current: i32,
}

/// A publish schedule publishes exactly the version the publisher
/// scheduled: a draft saved since (by anyone, approved or not) voids it, so
/// nothing reaches the public that a publisher did not choose.
pub fn check_scheduled_version(scheduled: Option<i32>, current: i32) -> Result<(), ScheduleVoided> {
    match scheduled {
        Some(scheduled) if scheduled == current => Ok(()),
        other => Err(ScheduleVoided {
            scheduled: other.unwrap_or(0),
            current,
        }),
    }
}

fn can_publish(status: Status, policy: Policy) -> bool {
    match status {
        Status::Approved => true,
        Status::Draft | Status::InReview | Status::ChangesRequested => !policy.review_required,
        Status::Published | Status::Archived => false,
    }
}

fn next(state: DocumentState, action: WorkflowAction, policy: Policy) -> Option<Transition> {
    use Status::*;
    use WorkflowAction as W;
    let status = state.status;
    let go = |to, effect| Some(Transition { to, effect });
    let live_and_published = state.published && status != Archived;
    match action {
        W::Edit => match status {
            InReview | ChangesRequested => go(status, Effect::NewVersion),
            Draft | Approved | Published => go(Draft, Effect::NewVersion),
            Archived => None,
        },
        W::SubmitForReview => match status {
            Draft | ChangesRequested => go(InReview, Effect::None),
            _ => None,
        },
        W::RequestChanges => match status {
            InReview | Approved => go(ChangesRequested, Effect::None),
            _ => None,
        },
        W::Approve => match status {
            InReview => go(Approved, Effect::None),
            _ => None,
        },
        W::Publish => can_publish(status, policy).then_some(Transition {
            to: Published,
            effect: Effect::PublishDraft,
        }),
        W::SchedulePublish => can_publish(status, policy).then_some(Transition {
            to: status,
            effect: Effect::SetPublishSchedule,
        }),
        W::Unpublish => live_and_published.then_some(Transition {
            to: if status == Published { Draft } else { status },
            effect: Effect::Withdraw,
        }),
        W::ScheduleUnpublish => live_and_published.then_some(Transition {
            to: status,
            effect: Effect::SetUnpublishSchedule,
        }),
        W::Archive => match status {
            Archived => None,
            _ => go(Archived, Effect::Withdraw),
        },
        W::Restore => match status {
            Archived => go(Draft, Effect::None),
            _ => None,
        },
        W::CancelSchedule => state.scheduled.then_some(Transition {
            to: status,
            effect: Effect::ClearSchedules,
        }),
        W::Comment => go(status, Effect::None),
    }
}

/// Every action the state allows.
pub fn allowed_actions(state: DocumentState, policy: Policy) -> Vec<WorkflowAction> {
    WorkflowAction::ALL
        .into_iter()
        .filter(|action| next(state, *action, policy).is_some())
        .collect()
}

pub fn transition(
    state: DocumentState,
    action: WorkflowAction,
    policy: Policy,
) -> Result<Transition, InvalidTransition> {
    next(state, action, policy).ok_or_else(|| InvalidTransition {
        from: state.status,
        published: state.published,
        action,
        allowed: allowed_actions(state, policy),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;
    use WorkflowAction as W;

    #[test]
    fn a_schedule_publishes_only_the_version_it_was_set_on() {
        assert_eq!(check_scheduled_version(Some(3), 3), Ok(()));
        assert_eq!(
            check_scheduled_version(Some(3), 4),
            Err(ScheduleVoided {
                scheduled: 3,
                current: 4
            })
        );
        assert!(check_scheduled_version(None, 1).is_err());
    }

    const REVIEW: Policy = Policy {
        review_required: true,
    };
    const NO_REVIEW: Policy = Policy {
        review_required: false,
    };

    fn state(status: Status, published: bool, scheduled: bool) -> DocumentState {
        DocumentState {
            status,
            published,
            scheduled,
        }
    }

    /// The expected target status of every (state, action) pair, or None
    /// when refused: the table in the module documentation, spelled out.
    fn expected(s: DocumentState, action: WorkflowAction, policy: Policy) -> Option<Status> {
        let publishable = match s.status {
            Approved => true,
            Draft | InReview | ChangesRequested => !policy.review_required,
            Published | Archived => false,
        };
        let published_live = s.published && s.status != Archived;
        match (action, s.status) {
            (W::Edit, Archived) => None,
            (W::Edit, InReview) => Some(InReview),
            (W::Edit, ChangesRequested) => Some(ChangesRequested),
            (W::Edit, _) => Some(Draft),
            (W::SubmitForReview, Draft | ChangesRequested) => Some(InReview),
            (W::SubmitForReview, _) => None,
            (W::RequestChanges, InReview | Approved) => Some(ChangesRequested),
            (W::RequestChanges, _) => None,
            (W::Approve, InReview) => Some(Approved),
            (W::Approve, _) => None,
            (W::Publish, _) => publishable.then_some(Published),
            (W::SchedulePublish, status) => publishable.then_some(status),
            (W::Unpublish, Published) => published_live.then_some(Draft),
            (W::Unpublish, status) => published_live.then_some(status),
            (W::ScheduleUnpublish, status) => published_live.then_some(status),
            (W::Archive, Archived) => None,
            (W::Archive, _) => Some(Archived),
            (W::Restore, Archived) => Some(Draft),
            (W::Restore, _) => None,
            (W::CancelSchedule, status) => s.scheduled.then_some(status),
            (W::Comment, status) => Some(status),
        }
    }

    #[test]
    fn every_state_action_and_policy_leads_where_the_table_says() {
        let mut checked = 0;
        for status in Status::ALL {
            for published in [false, true] {
                if status == Published && !published {
                    continue; // not a reachable state
                }
                for scheduled in [false, true] {
                    let s = state(status, published, scheduled);
                    for policy in [REVIEW, NO_REVIEW] {
                        for action in WorkflowAction::ALL {
                            let got = transition(s, action, policy).map(|t| t.to).ok();
                            assert_eq!(
                                got,
                                expected(s, action, policy),
                                "{s:?} {action:?} {policy:?}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 11 * 2 * 2 * 12);
    }

    #[test]
    fn effects_follow_the_action() {
        let draft = state(Draft, false, false);
        assert_eq!(
            transition(draft, W::Edit, REVIEW).unwrap().effect,
            Effect::NewVersion
        );
        let approved = state(Approved, true, false);
        assert_eq!(
            transition(approved, W::Publish, REVIEW).unwrap().effect,
            Effect::PublishDraft
        );
        assert_eq!(
            transition(approved, W::Unpublish, REVIEW).unwrap().effect,
            Effect::Withdraw
        );
        assert_eq!(
            transition(approved, W::Archive, REVIEW).unwrap().effect,
            Effect::Withdraw
        );
        assert_eq!(
            transition(approved, W::SchedulePublish, REVIEW).unwrap(),
            Transition {
                to: Approved,
                effect: Effect::SetPublishSchedule
            }
        );
        assert_eq!(
            transition(state(Published, true, true), W::CancelSchedule, REVIEW)
                .unwrap()
                .effect,
            Effect::ClearSchedules
        );
    }

    #[test]
    fn a_refusal_names_the_state_and_what_is_allowed() {
        let error = transition(state(Draft, false, false), W::Publish, REVIEW).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot publish an item that is DRAFT; allowed now: update, submitForReview, archive, addComment"
        );
        let error = transition(state(Archived, false, false), W::Edit, REVIEW).unwrap_err();
        assert_eq!(error.allowed, [W::Restore, W::Comment]);
    }

    #[test]
    fn authors_edit_and_submit_only_their_own() {
        assert_eq!(W::Edit.permission(true), Action::EditOwnDraft);
        assert_eq!(W::Edit.permission(false), Action::EditAnyDraft);
        assert_eq!(W::SubmitForReview.permission(true), Action::SubmitForReview);
        assert_eq!(W::SubmitForReview.permission(false), Action::EditAnyDraft);
        assert_eq!(W::Restore.permission(false), Action::Archive);
        assert_eq!(W::CancelSchedule.permission(true), Action::Schedule);
    }
}
