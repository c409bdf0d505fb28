//! Who may do what. Every permission check in Beacon asks [`authorize`], and
//! every read decides its stage with [`read_stage`]: one table, one place.
//!
//! | role      | may                                                                  |
//! |-----------|----------------------------------------------------------------------|
//! | anonymous | read published content                                               |
//! | PARTNER   | read published content                                               |
//! | AUTHOR    | + create drafts, edit their own drafts, submit for review, comment, preview |
//! | EDITOR    | + edit any draft, request changes, approve                           |
//! | PUBLISHER | + publish, unpublish, schedule, archive                              |
//! | ADMIN     | + users, API tokens, seed jobs, the audit log, webhooks              |

use uuid::Uuid;

use super::Stage;

/// A signed-in role. Anonymous requests have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Partner,
    Author,
    Editor,
    Publisher,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Partner,
        Role::Author,
        Role::Editor,
        Role::Publisher,
        Role::Admin,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Partner => "partner",
            Role::Author => "author",
            Role::Editor => "editor",
            Role::Publisher => "publisher",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        let value = value.trim().to_ascii_lowercase();
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }
}

/// Everything a request can ask to do that not everyone may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ReadPublished,
    /// See drafts and unpublished content, and editor-facing fields.
    Preview,
    CreateDraft,
    EditOwnDraft,
    EditAnyDraft,
    SubmitForReview,
    Comment,
    RequestChanges,
    Approve,
    Publish,
    Unpublish,
    Schedule,
    Archive,
    ManageUsers,
    ManageApiTokens,
    RunSeedJobs,
    ReadAuditLog,
    /// Register webhooks, see their deliveries, redeliver events.
    ManageWebhooks,
}

impl Action {
    pub const ALL: [Action; 18] = [
        Action::ReadPublished,
        Action::Preview,
        Action::CreateDraft,
        Action::EditOwnDraft,
        Action::EditAnyDraft,
        Action::SubmitForReview,
        Action::Comment,
        Action::RequestChanges,
        Action::Approve,
        Action::Publish,
        Action::Unpublish,
        Action::Schedule,
        Action::Archive,
        Action::ManageUsers,
        Action::ManageApiTokens,
        Action::RunSeedJobs,
        Action::ReadAuditLog,
        Action::ManageWebhooks,
    ];

    /// The least role allowed to do it; `None` means anyone, even anonymous.
    fn least_role(self) -> Option<Role> {
        match self {
            Action::ReadPublished => None,
            Action::Preview
            | Action::CreateDraft
            | Action::EditOwnDraft
            | Action::SubmitForReview
            | Action::Comment => Some(Role::Author),
            Action::EditAnyDraft | Action::RequestChanges | Action::Approve => Some(Role::Editor),
            Action::Publish | Action::Unpublish | Action::Schedule | Action::Archive => {
                Some(Role::Publisher)
            }
            Action::ManageUsers
            | Action::ManageApiTokens
            | Action::RunSeedJobs
            | Action::ReadAuditLog
            | Action::ManageWebhooks => Some(Role::Admin),
        }
    }

    /// Described for people, e.g. in a FORBIDDEN error.
    pub fn describe(self) -> &'static str {
        match self {
            Action::ReadPublished => "read published content",
            Action::Preview => "preview unpublished content",
            Action::CreateDraft => "create drafts",
            Action::EditOwnDraft => "edit their own drafts",
            Action::EditAnyDraft => "edit other people's drafts",
            Action::SubmitForReview => "submit drafts for review",
            Action::Comment => "comment",
            Action::RequestChanges => "request changes",
            Action::Approve => "approve drafts",
            Action::Publish => "publish",
            Action::Unpublish => "unpublish",
            Action::Schedule => "schedule publishing",
            Action::Archive => "archive",
            Action::ManageUsers => "manage users",
            Action::ManageApiTokens => "manage API tokens",
            Action::RunSeedJobs => "run seed jobs",
            Action::ReadAuditLog => "read the audit log",
            Action::ManageWebhooks => "manage webhooks",
        }
    }
}

/// Whether `role` (None: anonymous) may do `action`. Roles are ordered:
/// each may do everything the one below it may. PARTNER sits above
/// anonymous only for rate limits; it may read no more.
pub fn allows(role: Option<Role>, action: Action) -> bool {
    match action.least_role() {
        None => true,
        Some(least) => role.is_some_and(|role| role >= least),
    }
}

/// Who is making a request, as established from its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Anonymous,
    User {
        id: Uuid,
        role: Role,
    },
    /// An API token. Its role is at most its creator's current role.
    ApiToken {
        id: Uuid,
        role: Role,
        /// The user who made it; `None` for tokens made on the command line.
        creator: Option<Uuid>,
    },
    /// Someone at the command line with the database's credentials: an
    /// operator, who holds every permission.
    Operator,
    /// Beacon itself, carrying out a schedule someone allowed to schedule
    /// set. It holds no role: it never passes a permission check.
    Scheduler,
}

impl Actor {
    pub fn role(&self) -> Option<Role> {
        match self {
            Actor::Anonymous | Actor::Scheduler => None,
            Actor::Operator => Some(Role::Admin),
            Actor::User { role, .. } | Actor::ApiToken { role, .. } => Some(*role),
        }
    }

    /// The user account the actor acts for: a signed-in user's own, or the
    /// account that made an API token. Nobody may change the account they
    /// act for through their own powers (a token cannot re-promote its
    /// creator; an admin cannot lock themselves out).
    pub fn acting_for(&self) -> Option<Uuid> {
        match self {
            Actor::User { id, .. } => Some(*id),
            Actor::ApiToken { creator, .. } => *creator,
            _ => None,
        }
    }

    /// The user behind the request, if a person signed in.
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Actor::User { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// How audit entries and versions name the actor.
    pub fn label(&self) -> String {
        match self {
            Actor::Anonymous => "anonymous".into(),
            Actor::User { id, .. } => format!("user:{id}"),
            Actor::ApiToken { id, .. } => format!("token:{id}"),
            Actor::Operator => "operator".into(),
            Actor::Scheduler => "scheduler".into(),
        }
    }
}

/// The actor may not do what it asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} may not {}", role_name(*.role), .action.describe())]
pub struct Forbidden {
    pub role: Option<Role>,
    pub action: Action,
}

fn role_name(role: Option<Role>) -> String {
    match role {
        None => "an anonymous client".into(),
        Some(role) => format!("the {} role", role.as_str().to_ascii_uppercase()),
    }
}

pub fn authorize(actor: &Actor, action: Action) -> Result<(), Forbidden> {
    let role = actor.role();
    if allows(role, action) {
        Ok(())
    } else {
        Err(Forbidden { role, action })
    }
}

/// Whether a mutation by `actor` may change what anonymous readers see.
/// Only then does the server it ran on retire its published answers (kept
/// answers, the search index's picture) at once, for its client to read its
/// own write; everyone else's mutations, refused or not, leave them to the
/// database's notification. Otherwise any caller could empty every cache
/// and set the index rebuilding with one request.
pub fn may_change_published(actor: &Actor) -> bool {
    [
        Action::Publish,
        Action::Unpublish,
        Action::Archive,
        Action::RunSeedJobs,
    ]
    .into_iter()
    .any(|action| allows(actor.role(), action))
}

/// What an API token may do: its own role, but never more than its
/// creator's role now. A token made by a user who has since been demoted
/// is demoted with them.
pub fn token_role(token_role: Role, creator_role: Option<Role>) -> Role {
    match creator_role {
        Some(creator) => token_role.min(creator),
        None => token_role,
    }
}

/// Whether `actor` may hand out `role` (to a user or a token): nobody grants
/// more than they hold.
pub fn may_grant(actor: &Actor, role: Role) -> bool {
    actor.role().is_some_and(|held| role <= held)
}

/// The stage a read sees: published content, unless the request asks for
/// preview and the actor may preview. Asking without the permission is an
/// error, never a quiet fallback, so a client always knows what it got.
pub fn read_stage(actor: &Actor, preview: bool) -> Result<Stage, Forbidden> {
    if preview {
        authorize(actor, Action::Preview)?;
        Ok(Stage::Draft)
    } else {
        Ok(Stage::Published)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table in the module documentation, cell by cell: the rows are
    /// actions; the columns anonymous, PARTNER, AUTHOR, EDITOR, PUBLISHER,
    /// ADMIN.
    const MATRIX: [(Action, [bool; 6]); 18] = [
        (Action::ReadPublished, [true, true, true, true, true, true]),
        (Action::Preview, [false, false, true, true, true, true]),
        (Action::CreateDraft, [false, false, true, true, true, true]),
        (Action::EditOwnDraft, [false, false, true, true, true, true]),
        (
            Action::EditAnyDraft,
            [false, false, false, true, true, true],
        ),
        (
            Action::SubmitForReview,
            [false, false, true, true, true, true],
        ),
        (Action::Comment, [false, false, true, true, true, true]),
        (
            Action::RequestChanges,
            [false, false, false, true, true, true],
        ),
        (Action::Approve, [false, false, false, true, true, true]),
        (Action::Publish, [false, false, false, false, true, true]),
        (Action::Unpublish, [false, false, false, false, true, true]),
        (Action::Schedule, [false, false, false, false, true, true]),
        (Action::Archive, [false, false, false, false, true, true]),
        (
            Action::ManageUsers,
            [false, false, false, false, false, true],
        ),
        (
            Action::ManageApiTokens,
            [false, false, false, false, false, true],
        ),
        (
            Action::RunSeedJobs,
            [false, false, false, false, false, true],
        ),
        (
            Action::ReadAuditLog,
            [false, false, false, false, false, true],
        ),
        (
            Action::ManageWebhooks,
            [false, false, false, false, false, true],
        ),
    ];

    fn actors() -> [Actor; 6] {
        let id = Uuid::nil();
        [
            Actor::Anonymous,
            Actor::ApiToken {
                id,
                role: Role::Partner,
                creator: None,
            },
            Actor::User {
                id,
                role: Role::Author,
            },
            Actor::User {
                id,
                role: Role::Editor,
            },
            Actor::ApiToken {
                id,
                role: Role::Publisher,
                creator: Some(id),
            },
            Actor::User {
                id,
                role: Role::Admin,
            },
        ]
    }

    #[test]
    fn every_cell_of_the_role_matrix() {
        assert_eq!(
            MATRIX.map(|(action, _)| action),
            Action::ALL,
            "the matrix covers every action"
        );
        for (action, expected) in MATRIX {
            for (actor, allowed) in actors().iter().zip(expected) {
                assert_eq!(
                    authorize(actor, action).is_ok(),
                    allowed,
                    "{actor:?} / {action:?}"
                );
            }
        }
    }

    #[test]
    fn a_token_never_holds_more_than_its_creator_now() {
        assert_eq!(token_role(Role::Admin, Some(Role::Author)), Role::Author);
        assert_eq!(token_role(Role::Partner, Some(Role::Admin)), Role::Partner);
        assert_eq!(token_role(Role::Admin, None), Role::Admin);
        let publisher_token = Actor::ApiToken {
            id: Uuid::nil(),
            role: Role::Publisher,
            creator: None,
        };
        assert!(may_grant(&publisher_token, Role::Publisher));
        assert!(!may_grant(&publisher_token, Role::Admin));
        assert!(!may_grant(&Actor::Anonymous, Role::Partner));
    }

    #[test]
    fn only_those_who_may_publish_retire_public_answers_at_once() {
        let retiring: Vec<Option<Role>> = actors()
            .iter()
            .filter(|actor| may_change_published(actor))
            .map(Actor::role)
            .collect();
        assert_eq!(retiring, [Some(Role::Publisher), Some(Role::Admin)]);
        assert!(may_change_published(&Actor::Operator));
        assert!(!may_change_published(&Actor::Scheduler));
    }

    #[test]
    fn preview_needs_the_permission_and_the_request() {
        for actor in actors() {
            assert_eq!(read_stage(&actor, false), Ok(Stage::Published));
            let may_preview = allows(actor.role(), Action::Preview);
            assert_eq!(read_stage(&actor, true).is_ok(), may_preview, "{actor:?}");
            if may_preview {
                assert_eq!(read_stage(&actor, true), Ok(Stage::Draft));
            }
        }
    }

    #[test]
    fn forbidden_names_the_role_and_the_action() {
        let error = authorize(&Actor::Anonymous, Action::Publish).unwrap_err();
        assert_eq!(error.to_string(), "an anonymous client may not publish");
        let partner = Actor::ApiToken {
            id: Uuid::nil(),
            role: Role::Partner,
            creator: None,
        };
        let error = read_stage(&partner, true).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the PARTNER role may not preview unpublished content"
        );
    }

    #[test]
    fn roles_parse_their_names_in_any_case() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(Role::parse(&role.as_str().to_uppercase()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
