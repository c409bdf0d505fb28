//! Privileged changes to accounts and API tokens. The GraphQL API and the
//! command line both come here, so the rules hold whichever door a change
//! comes through: the caller must be allowed, nobody changes the account
//! they act for, nobody grants more than they hold, and every change writes
//! its audit entry in the same transaction.

use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

use super::{Identity, IdentityError, IdentityResult, NewAccount};
use crate::db::identity::{self as store, ApiTokenRow, UserRow};
use crate::domain::access::{self, Action, Actor, Role};

pub use super::caller::Caller;

impl Caller<'_> {
    /// An admin demoting or disabling themselves would leave nobody to undo
    /// it; a token changing its creator's account would let a stolen or
    /// orphaned token restore what an admin took away.
    fn refuse_own_account(&self, user: Uuid, what: &str) -> IdentityResult<()> {
        if self.actor.acting_for() == Some(user) {
            let whose = match self.actor {
                Actor::ApiToken { .. } => "the account that made this token",
                _ => "your own account",
            };
            return Err(IdentityError::NotPermitted(format!(
                "you cannot {what} of {whose}; ask another admin"
            )));
        }
        Ok(())
    }

    fn refuse_above_own_role(&self, role: Role) -> IdentityResult<()> {
        if !access::may_grant(self.actor, role) {
            return Err(IdentityError::NotPermitted(format!(
                "you cannot grant the {} role: it is above your own",
                role.as_str().to_ascii_uppercase()
            )));
        }
        Ok(())
    }
}

pub async fn create_user(
    conn: &mut AsyncPgConnection,
    caller: Caller<'_>,
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> IdentityResult<UserRow> {
    caller.authorize(Action::ManageUsers)?;
    caller.refuse_above_own_role(role)?;
    let account = NewAccount::check(email, name, role, password).await?;
    caller
        .audited(conn, "createUser", async |conn| {
            let user = account.insert(conn).await?;
            let detail = json!({ "userId": user.id, "email": user.email, "role": user.role });
            Ok((user, detail))
        })
        .await
}

pub async fn set_user_role(
    conn: &mut AsyncPgConnection,
    caller: Caller<'_>,
    user: Uuid,
    role: Role,
) -> IdentityResult<UserRow> {
    caller.authorize(Action::ManageUsers)?;
    caller.refuse_own_account(user, "change the role")?;
    caller.refuse_above_own_role(role)?;
    caller
        .audited(conn, "setUserRole", async |conn| {
            let before = store::user_by_id(conn, user)
                .await?
                .ok_or(IdentityError::NotFound("user"))?;
            let after = store::set_role(conn, user, role.as_str())
                .await?
                .ok_or(IdentityError::NotFound("user"))?;
            let detail = json!({ "userId": user, "from": before.role, "to": after.role });
            Ok((after, detail))
        })
        .await
}

/// Disabling a user ends their sessions and stops their API tokens.
pub async fn set_user_disabled(
    conn: &mut AsyncPgConnection,
    caller: Caller<'_>,
    user: Uuid,
    disabled: bool,
) -> IdentityResult<UserRow> {
    caller.authorize(Action::ManageUsers)?;
    caller.refuse_own_account(user, if disabled { "disable" } else { "enable" })?;
    let action = if disabled {
        "disableUser"
    } else {
        "enableUser"
    };
    caller
        .audited(conn, action, async |conn| {
            let row = store::set_disabled(conn, user, disabled)
                .await?
                .ok_or(IdentityError::NotFound("user"))?;
            Ok((row, json!({ "userId": user })))
        })
        .await
}

/// An operator's password reset; the user's sessions end.
pub async fn reset_password(
    conn: &mut AsyncPgConnection,
    caller: Caller<'_>,
    user: Uuid,
    password: &str,
) -> IdentityResult<()> {
    caller.authorize(Action::ManageUsers)?;
    let hash = super::new_password_hash(password).await?;
    caller
        .audited(conn, "resetPassword", async |conn| {
            if !store::set_password(conn, user, &hash).await? {
                return Err(IdentityError::NotFound("user"));
            }
            Ok(((), json!({ "userId": user })))
        })
        .await
}

pub async fn revoke_api_token(
    conn: &mut AsyncPgConnection,
    caller: Caller<'_>,
    id: Uuid,
) -> IdentityResult<ApiTokenRow> {
    caller.authorize(Action::ManageApiTokens)?;
    caller
        .audited(conn, "revokeApiToken", async |conn| {
            let row = store::revoke_api_token(conn, id)
                .await?
                .ok_or(IdentityError::NotFound("API token"))?;
            let detail = json!({ "tokenId": id, "name": row.name });
            Ok((row, detail))
        })
        .await
}

impl Identity {
    /// A new API token, tied to the account the caller acts for (none at
    /// the command line) and never above the caller's own role.
    pub async fn create_api_token_as(
        &self,
        conn: &mut AsyncPgConnection,
        caller: Caller<'_>,
        name: &str,
        role: Role,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> IdentityResult<(ApiTokenRow, String)> {
        caller.authorize(Action::ManageApiTokens)?;
        caller.refuse_above_own_role(role)?;
        let created_by = caller.actor.acting_for();
        caller
            .audited(conn, "createApiToken", async |conn| {
                let (row, secret) = self
                    .create_api_token(conn, name, role, expires_at, created_by)
                    .await?;
                let detail = json!({ "tokenId": row.id, "name": row.name, "role": row.role });
                Ok(((row, secret), detail))
            })
            .await
    }
}
