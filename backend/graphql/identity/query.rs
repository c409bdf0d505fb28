//! `me`, `users` and `apiTokens`.

use async_graphql::{Context, ID, Object, Result};
use uuid::Uuid;

use crate::db::identity::{self as store};
use crate::domain::access::{Action, Actor};
use crate::graphql::access::connection_to_db;
use crate::graphql::access::viewer;
use crate::graphql::error::{bad_input, internal};
use crate::graphql::paging::permitted_page;
use crate::identity::Identity;

use super::*;

pub(super) fn parse_id(id: &ID, what: &str) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|_| bad_input(format!("`id` is not a {what} id")))
}

pub(super) fn identity<'c>(ctx: &Context<'c>) -> &'c Identity {
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
        let page = permitted_page(
            ctx,
            Action::ManageUsers,
            "users",
            (first, after),
            async |conn, after, limit| store::list_users(conn, after.as_ref(), limit).await,
            |row| (row.email.to_lowercase(), row.id),
        )
        .await?;
        Ok(page.map(User).into())
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
        let page = permitted_page(
            ctx,
            Action::ManageApiTokens,
            "apiTokens",
            (first, after),
            async |conn, after, limit| store::list_api_tokens(conn, after, limit).await,
            |row| (row.created_at, row.id),
        )
        .await?;
        Ok(page.map(ApiToken).into())
    }
}
