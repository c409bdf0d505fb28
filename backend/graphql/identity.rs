//! Users, sessions and API tokens over GraphQL: `login`, `logout`, `me`,
//! and the administration of users and tokens.

use crate::graphql::scalars::Timestamp;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::access::{require, viewer};
use super::error::{bad_input, identity_error, internal, unauthenticated};
use super::paging::{Forward, connection_type};
use super::query::connection_to_db;
use crate::db::identity::{self as store, ApiTokenRow, UserRow};
use crate::domain::access::{self, Action, Actor};
use crate::identity::{self, Identity, SessionGrant, admin, credentials};

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
    api_token: ApiToken,
    /// Send it as `Authorization: Bearer <secret>`. Shown only now: Beacon
    /// keeps a keyed hash of it, never the secret itself.
    secret: String,
}

/// Who the request is.
pub struct Me {
    actor: Actor,
    user: Option<UserRow>,
    api_token: Option<ApiTokenRow>,
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

fn parse_id(id: &ID, what: &str) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|_| bad_input(format!("`id` is not a {what} id")))
}

fn identity<'c>(ctx: &Context<'c>) -> &'c Identity {
    ctx.data_unchecked::<Identity>()
}

#[derive(Default)]
pub struct IdentityQuery;

/// Identity queries.
#[Object]
impl IdentityQuery {
    /// Who the request is; null for anonymous requests.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<Me>> {
        let actor = viewer(ctx).actor().clone();
        let mut conn = connection_to_db(ctx).await?;
        let (user, api_token) = match &actor {
            Actor::Anonymous | Actor::Scheduler | Actor::Operator => return Ok(None),
            Actor::User { id, .. } => (
                store::user_by_id(&mut conn, *id).await.map_err(internal)?,
                None,
            ),
            Actor::ApiToken { id, .. } => (
                None,
                store::api_token(&mut conn, *id).await.map_err(internal)?,
            ),
        };
        Ok(Some(Me {
            actor,
            user,
            api_token,
        }))
    }

    /// Users, by email, a page at a time. Admins only.
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<UserConnection> {
        require(ctx, Action::ManageUsers)?;
        let request = Forward::<(String, Uuid)>::new("users", first, after.as_deref())?;
        let mut conn = connection_to_db(ctx).await?;
        let rows = store::list_users(&mut conn, request.after.as_ref(), request.limit())
            .await
            .map_err(internal)?;
        Ok(request
            .page(rows, |row| (row.email.to_lowercase(), row.id))
            .map(User)
            .into())
    }

    /// API tokens, newest first, revoked ones included, a page at a time.
    /// Admins only.
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<ApiTokenConnection> {
        require(ctx, Action::ManageApiTokens)?;
        let request = Forward::<(DateTime<Utc>, Uuid)>::new("apiTokens", first, after.as_deref())?;
        let mut conn = connection_to_db(ctx).await?;
        let rows = store::list_api_tokens(&mut conn, request.after, request.limit())
            .await
            .map_err(internal)?;
        Ok(request
            .page(rows, |row| (row.created_at, row.id))
            .map(ApiToken)
            .into())
    }
}

/// A new user.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// Sign-in email, unique whatever its case.
    email: String,
    /// Name shown to colleagues.
    name: String,
    /// What the user may do.
    role: Role,
    /// At least 10 characters.
    password: String,
}

/// A new API token.
#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// What it is for, e.g. "Partner site (production)".
    name: String,
    /// What it may do; PARTNER when omitted.
    role: Option<Role>,
    /// When it stops working; never when omitted.
    expires_at: Option<Timestamp>,
}

#[derive(Default)]
pub struct IdentityMutation;

/// Identity mutations.
#[Object]
impl IdentityMutation {
    /// Signs in. Wrong credentials are UNAUTHENTICATED; after repeated
    /// failures for an account or from an address, RATE_LIMITED with
    /// `extensions.retryAfter` (seconds).
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's email, in any case.")] email: String,
        #[graphql(desc = "The user's password.")] password: String,
    ) -> Result<Session> {
        let address = viewer(ctx).client_address;
        let mut conn = connection_to_db(ctx).await?;
        let grant = identity(ctx)
            .login(&mut conn, &email, &password, address)
            .await
            .map_err(identity_error)?;
        Ok(grant.into())
    }

    /// Ends the session this request was made with. True when it ended.
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        let Some(session) = viewer(ctx).auth.session_id else {
            return Err(unauthenticated(
                "logout ends a signed-in session; revoke API tokens with revokeApiToken",
            ));
        };
        let mut conn = connection_to_db(ctx).await?;
        store::revoke_session(&mut conn, session)
            .await
            .map_err(internal)?;
        Ok(true)
    }

    /// Changes the signed-in user's password. Every session of the user
    /// ends; the new session returned replaces the caller's.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The password now.")] current_password: String,
        #[graphql(desc = "The new password, at least 10 characters.")] new_password: String,
    ) -> Result<Session> {
        let viewer = viewer(ctx);
        let Some(user_id) = viewer.actor().user_id() else {
            return Err(unauthenticated("sign in to change your password"));
        };
        let mut conn = connection_to_db(ctx).await?;
        let grant = identity(ctx)
            .change_password(
                &mut conn,
                user_id,
                &current_password,
                &new_password,
                viewer.client_address,
            )
            .await
            .map_err(identity_error)?;
        Ok(grant.into())
    }

    /// Creates a user. Admins only.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new user.")] input: CreateUserInput,
    ) -> Result<User> {
        let mut conn = connection_to_db(ctx).await?;
        let row = admin::create_user(
            &mut conn,
            caller(ctx),
            &input.email,
            &input.name,
            input.role.into(),
            &input.password,
        )
        .await
        .map_err(identity_error)?;
        Ok(User(row))
    }

    /// Changes a user's role. Admins only, and not their own.
    async fn set_user_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's id.")] id: ID,
        #[graphql(desc = "The new role.")] role: Role,
    ) -> Result<User> {
        require(ctx, Action::ManageUsers)?;
        let id = parse_id(&id, "user")?;
        let mut conn = connection_to_db(ctx).await?;
        let row = admin::set_user_role(&mut conn, caller(ctx), id, role.into())
            .await
            .map_err(identity_error)?;
        Ok(User(row))
    }

    /// Disables a user (ending their sessions) or enables them again.
    /// Admins only, and not themselves.
    async fn set_user_disabled(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's id.")] id: ID,
        #[graphql(desc = "True to disable, false to enable.")] disabled: bool,
    ) -> Result<User> {
        require(ctx, Action::ManageUsers)?;
        let id = parse_id(&id, "user")?;
        let mut conn = connection_to_db(ctx).await?;
        let row = admin::set_user_disabled(&mut conn, caller(ctx), id, disabled)
            .await
            .map_err(identity_error)?;
        Ok(User(row))
    }

    /// Creates an API token. The secret is in the answer and nowhere else.
    /// Admins only.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new token.")] input: CreateApiTokenInput,
    ) -> Result<CreatedApiToken> {
        require(ctx, Action::ManageApiTokens)?;
        let role = input.role.unwrap_or(Role::Partner).into();
        let mut conn = connection_to_db(ctx).await?;
        let (row, secret) = identity(ctx)
            .create_api_token_as(
                &mut conn,
                caller(ctx),
                &input.name,
                role,
                input.expires_at.map(|at| at.0),
            )
            .await
            .map_err(identity_error)?;
        Ok(CreatedApiToken {
            api_token: ApiToken(row),
            secret,
        })
    }

    /// Revokes an API token: the next request with it is refused. Admins only.
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token's id.")] id: ID,
    ) -> Result<ApiToken> {
        require(ctx, Action::ManageApiTokens)?;
        let id = parse_id(&id, "API token")?;
        let mut conn = connection_to_db(ctx).await?;
        let row = admin::revoke_api_token(&mut conn, caller(ctx), id)
            .await
            .map_err(identity_error)?;
        Ok(ApiToken(row))
    }
}

/// The request's actor, for the identity service's rules and audit entries.
fn caller<'c>(ctx: &Context<'c>) -> admin::Caller<'c> {
    let viewer = viewer(ctx);
    admin::Caller {
        actor: viewer.actor(),
        request_id: viewer.request_id.as_deref(),
    }
}
