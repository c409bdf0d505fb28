//! Who asks for a privileged change: the one type every service that
//! authorizes and audits such changes (accounts, tokens, webhooks) takes,
//! whether the change comes from the GraphQL API or the command line.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::editorial::{self as audit_store, NewAuditEntry};
use crate::domain::access::{self, Action, Actor, Forbidden};

/// Who asks for a privileged change, as the audit log records it.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub actor: &'a Actor,
    pub request_id: Option<&'a str>,
}

impl<'a> Caller<'a> {
    /// Someone at the command line.
    pub const fn operator() -> Caller<'static> {
        Caller {
            actor: &Actor::Operator,
            request_id: None,
        }
    }

    pub(crate) fn authorize(&self, action: Action) -> Result<(), Forbidden> {
        access::authorize(self.actor, action)
    }

    /// Makes a privileged change and records it in the audit log in one
    /// transaction, so no such change lands without its entry. `change`
    /// returns what it made and the entry's detail.
    pub(crate) async fn audited<T, E, F>(
        &self,
        conn: &mut AsyncPgConnection,
        action: &str,
        change: F,
    ) -> Result<T, E>
    where
        for<'r> F: AsyncFnOnce(&'r mut AsyncPgConnection) -> Result<(T, serde_json::Value), E>
            + SendChange<&'r mut AsyncPgConnection, Result<(T, serde_json::Value), E>, Fut: Send>
            + Send,
        E: From<diesel::result::Error> + Send,
        T: Send,
    {
        conn.transaction::<_, E, _>(async |conn| {
            let (made, detail) = change(conn).await?;
            self.audit(conn, action, detail).await?;
            Ok(made)
        })
        .await
    }

    async fn audit(
        &self,
        conn: &mut AsyncPgConnection,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(), diesel::result::Error> {
        let label = self.actor.label();
        audit_store::audit(
            conn,
            &NewAuditEntry::general(
                &label,
                self.actor.user_id(),
                action,
                self.request_id,
                detail,
            ),
        )
        .await
    }
}

/// Names the future of an async closure, so that a bound can ask it to be
/// `Send` (as a transaction on a shared runtime must be) without return
/// type notation; diesel-async bounds its own transactions the same way.
pub trait SendChange<C, R>:
    AsyncFnOnce(C) -> R + FnOnce(C) -> <Self as SendChange<C, R>>::Fut
{
    type Fut: Future<Output = R>;
}

impl<F, C, Fut, R> SendChange<C, R> for F
where
    F: AsyncFnOnce(C) -> R + FnOnce(C) -> Fut,
    Fut: Future<Output = R>,
{
    type Fut = Fut;
}
