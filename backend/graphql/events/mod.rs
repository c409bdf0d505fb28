//! Webhooks, events and live preview over GraphQL: the administration of
//! webhooks, the event log, and `contentChanged` subscriptions.

mod mutations;
mod query;
mod subscriptions;
mod types;

pub use mutations::*;
pub use query::*;
pub use subscriptions::*;
pub use types::*;
