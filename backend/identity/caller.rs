//! Who asks for a privileged change: the one type every service that
//! authorizes and audits such changes (accounts, tokens, webhooks) takes,
//! whether the change comes from the GraphQL API or the command line.

use diesel_async::AsyncPgConnection;

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

    /// Records the change; callers write it in the change's transaction, so
    /// no privileged change lands unaudited.
    pub(crate) async fn audit(
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
