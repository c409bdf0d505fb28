//! Who the request is and what it may see, as resolvers ask it.
//!
//! The stage a read sees is decided once per root field by
//! [`crate::domain::access::read_stage`] and carried by every object read
//! there: relations, connections, counts, facets and search hits of an
//! object read from the published stage can only ever be read from the
//! published stage. The draft loaders do not even exist in a request whose
//! actor may not preview.

use async_graphql::{Context, ContextBase, Result};

use super::Pools;
use super::error::{forbidden, internal};
use super::loaders::Loaders;
use crate::db::PooledConnection;
use crate::domain::Stage;
use crate::domain::access::{self, Action, Actor};
use crate::identity::Authenticated;

/// The request's identity, established by the HTTP layer from its bearer
/// token, and where it came from.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub auth: Authenticated,
    pub client_address: Option<std::net::IpAddr>,
    /// The HTTP request's id, recorded with every change it makes.
    pub request_id: Option<String>,
}

impl Viewer {
    pub fn anonymous() -> Self {
        Viewer {
            auth: Authenticated::anonymous(),
            client_address: None,
            request_id: None,
        }
    }

    pub fn actor(&self) -> &Actor {
        &self.auth.actor
    }
}

/// The request's loaders, one set per stage it may read.
pub struct StageLoaders {
    pub published: Loaders,
    pub draft: Option<Loaders>,
}

pub fn viewer<'c, T>(ctx: &ContextBase<'c, T>) -> &'c Viewer {
    ctx.data_unchecked::<Viewer>()
}

/// The stage a root field reads: drafts only when asked for and allowed.
pub fn stage(ctx: &Context<'_>, preview: bool) -> Result<Stage> {
    access::read_stage(viewer(ctx).actor(), preview).map_err(forbidden)
}

/// FORBIDDEN unless the request's actor may do `action`.
pub fn require(ctx: &Context<'_>, action: Action) -> Result<()> {
    access::authorize(viewer(ctx).actor(), action).map_err(forbidden)
}

// Any context: a list written directly reads its labels from the list's.
pub fn loaders<'c, T>(ctx: &ContextBase<'c, T>, stage: Stage) -> Result<&'c Loaders> {
    let loaders = ctx.data_unchecked::<StageLoaders>();
    match stage {
        Stage::Published => Ok(&loaders.published),
        // Unreachable when `stage` came from `stage()`; refusing keeps it so.
        Stage::Draft => loaders.draft.as_ref().ok_or_else(|| {
            forbidden(access::Forbidden {
                role: viewer(ctx).actor().role(),
                action: Action::Preview,
            })
        }),
    }
}

/// A connection to the primary: for writes, drafts and administration.
pub(crate) async fn connection_to_db(ctx: &Context<'_>) -> Result<PooledConnection> {
    let pools = ctx.data_unchecked::<Pools>();
    pools.primary.get().await.map_err(internal)
}

/// A connection for reading `stage`: published content may come from a
/// read replica (`--read-database-url`).
pub(crate) async fn read_connection(ctx: &Context<'_>, stage: Stage) -> Result<PooledConnection> {
    let pools = ctx.data_unchecked::<Pools>();
    let pool = match stage {
        Stage::Published => &pools.published,
        Stage::Draft => &pools.primary,
    };
    pool.get().await.map_err(internal)
}
