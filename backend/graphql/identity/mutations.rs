//! Sign-in and the administration of users and tokens.

use async_graphql::{Context, ID, Object, Result};

use crate::db::identity::{self as store};
use crate::domain::access::Action;
use crate::graphql::access::connection_to_db;
use crate::graphql::access::{require, viewer};
use crate::graphql::error::{identity_error, internal, unauthenticated};
use crate::identity::admin;

use super::*;

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

/// The request's actor, for the privileged services' rules and audit
/// entries (accounts, tokens, webhooks).
pub(crate) fn caller<'c>(ctx: &Context<'c>) -> admin::Caller<'c> {
    let viewer = viewer(ctx);
    admin::Caller {
        actor: viewer.actor(),
        request_id: viewer.request_id.as_deref(),
    }
}
