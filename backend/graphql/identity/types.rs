//! Roles, permissions, users, tokens and sessions as clients see them.

use crate::graphql::scalars::Timestamp;
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::Utc;

use crate::db::identity::{self as store, ApiTokenRow, UserRow};
use crate::domain::access::{self, Actor};
use crate::graphql::access::connection_to_db;
use crate::graphql::error::{identity_error, internal};
use crate::graphql::paging::connection_type;
use crate::identity::{self, SessionGrant, credentials};

connection_type!(
    UserConnection,
    UserEdge,
    User,
    "A page of users, by email.",
    "A user and their position in the list."
);
connection_type!(
    ApiTokenConnection,
    ApiTokenEdge,
    ApiToken,
    "A page of API tokens, newest first.",
    "An API token and its position in the list."
);

/// What a signed-in user or API token may do; anonymous clients only read
/// published content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::domain::access::Role")]
pub enum Role {
    /// Reads published content with its own API token.
    Partner,
    /// Writes drafts, edits their own, submits them for review, comments, previews.
    Author,
    /// An author who may also edit any draft, request changes and approve.
    Editor,
    /// An editor who may also publish, unpublish, schedule and archive.
    Publisher,
    /// May do everything, including managing users, API tokens and seed jobs.
    Admin,
}

/// Something not every role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::domain::access::Action")]
pub enum Permission {
    /// Read published content.
    ReadPublished,
    /// See drafts and unpublished content (`preview: true`).
    Preview,
    /// Create drafts.
    CreateDraft,
    /// Edit one's own drafts.
    EditOwnDraft,
    /// Edit anyone's drafts.
    EditAnyDraft,
    /// Submit drafts for review.
    SubmitForReview,
    /// Comment on content.
    Comment,
    /// Send drafts in review back with requested changes.
    RequestChanges,
    /// Approve drafts in review.
    Approve,
    /// Publish.
    Publish,
    /// Unpublish.
    Unpublish,
    /// Schedule publishing and unpublishing.
    Schedule,
    /// Archive and restore.
    Archive,
    /// Create users and change their role or access.
    ManageUsers,
    /// Create, list and revoke API tokens.
    ManageApiTokens,
    /// Run seed-loading jobs.
    RunSeedJobs,
    /// Read the audit log.
    ReadAuditLog,
    /// Register webhooks and see their deliveries.
    ManageWebhooks,
}

/// A person who signs in to edit content.
pub struct User(pub UserRow);

/// A person who signs in to edit content.
#[Object]
impl User {
    /// Stable id (a UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Sign-in email, unique whatever its case.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Name shown to colleagues.
    async fn name(&self) -> &str {
        &self.0.display_name
    }
    /// What the user may do.
    async fn role(&self) -> Result<Role> {
        Ok(identity::role_of(&self.0).map_err(identity_error)?.into())
    }
    /// A disabled user cannot sign in, and their sessions have ended.
    async fn disabled(&self) -> bool {
        self.0.disabled
    }
    /// When the account was created.
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
}

/// A credential for a program: a partner frontend, a build job.
pub struct ApiToken(pub ApiTokenRow);

/// A credential for a program: a partner frontend, a build job.
#[Object]
impl ApiToken {
    /// Stable id (a UUID), for `revokeApiToken`.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What it is for, e.g. "Partner site (production)".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it may do.
    async fn role(&self) -> Result<Role> {
        Ok(identity::token_role(&self.0)
            .map_err(identity_error)?
            .into())
    }
    /// The token's first characters, to recognize it; the secret itself is
    /// shown only once, when the token is created.
    async fn prefix(&self) -> String {
        credentials::display_prefix(credentials::TokenKind::ApiToken, self.0.id)
    }
    /// When it was created.
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
    /// When it stops working; null for never.
    async fn expires_at(&self) -> Option<Timestamp> {
        self.0.expires_at.map(Into::into)
    }
    /// When it was last used (to the minute); null if never.
    async fn last_used_at(&self) -> Option<Timestamp> {
        self.0.last_used_at.map(Into::into)
    }
    /// When it was revoked; null while it works.
    async fn revoked_at(&self) -> Option<Timestamp> {
        self.0.revoked_at.map(Into::into)
    }
    /// The user who made it, who must stay enabled for it to work and
    /// whose role caps its own; null for tokens made on the command line.
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(creator) = self.0.created_by else {
            return Ok(None);
        };
        let mut conn = connection_to_db(ctx).await?;
        let user = store::user_by_id(&mut conn, creator)
            .await
            .map_err(internal)?;
        Ok(user.map(User))
    }
    /// Whether requests with it are accepted now.
    async fn active(&self) -> bool {
        self.0.revoked_at.is_none() && self.0.expires_at.is_none_or(|at| at > Utc::now())
    }
}

/// A signed-in session.
#[derive(SimpleObject)]
pub struct Session {
    /// Send it as `Authorization: Bearer <token>`. Shown only now.
    token: String,
    /// When it stops working.
    expires_at: Timestamp,
    /// Who signed in.
    user: User,
}

impl From<SessionGrant> for Session {
    fn from(grant: SessionGrant) -> Self {
        Session {
            token: grant.token,
            expires_at: grant.expires_at.into(),
            user: User(grant.user),
        }
    }
}

/// A new API token and its secret.
#[derive(SimpleObject)]
pub struct CreatedApiToken {
    /// The token's record.
    pub(super) api_token: ApiToken,
    /// Send it as `Authorization: Bearer <secret>`. Shown only now: Beacon
    /// keeps a keyed hash of it, never the secret itself.
    pub(super) secret: String,
}

/// Who the request is.
pub struct Me {
    pub(super) actor: Actor,
    pub(super) user: Option<UserRow>,
    pub(super) api_token: Option<ApiTokenRow>,
}

/// Who the request is.
#[Object]
impl Me {
    /// The request's role.
    async fn role(&self) -> Option<Role> {
        self.actor.role().map(Role::from)
    }
    /// The signed-in user; null for an API token.
    async fn user(&self) -> Option<User> {
        self.user.clone().map(User)
    }
    /// The API token used; null for a signed-in user.
    async fn api_token(&self) -> Option<ApiToken> {
        self.api_token.clone().map(ApiToken)
    }
    /// Everything the role may do.
    async fn permissions(&self) -> Vec<Permission> {
        let role = self.actor.role();
        access::Action::ALL
            .into_iter()
            .filter(|action| access::allows(role, *action))
            .map(Permission::from)
            .collect()
    }
}
