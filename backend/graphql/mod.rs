//! The GraphQL schema: types, resolvers and errors. Knows the database layer
//! and the domain, not HTTP.

pub mod access;
pub mod batch;
pub mod content;
pub mod editorial;
pub mod error;
pub mod events;
pub mod identity;
pub mod ids;
pub mod limits;
pub mod loaders;
pub mod order;
pub mod paging;
pub mod scalars;
pub mod seed;
pub mod shared_lru;
pub mod validated;

use async_graphql::{MergedObject, Schema};

pub use access::Viewer;

use crate::db::PgPool;
use crate::domain::Stage;
use crate::domain::access::Action;
use crate::identity::Identity;

/// Published content for everyone; drafts, identities and administration
/// for those allowed.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    content::query::ContentQuery,
    identity::IdentityQuery,
    editorial::EditorialQuery,
    events::EventsQuery,
    seed::SeedQuery,
);

/// Editing and publishing content; signing in; administration of users,
/// API tokens and webhooks.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    editorial::EditorialMutation,
    identity::IdentityMutation,
    events::EventsMutation,
);

pub type BeaconSchema = Schema<QueryRoot, MutationRoot, events::SubscriptionRoot>;

/// The pools resolvers read from: published content from `published` (a
/// read replica when one is configured, else the primary), drafts and
/// every write from the primary, where editors' changes land.
#[derive(Clone)]
pub struct Pools {
    pub primary: PgPool,
    pub published: PgPool,
}

/// What resolvers need that lives as long as the server.
pub struct Services {
    pub pools: Pools,
    pub identity: Identity,
    pub editorial: crate::editorial::Editorial,
    /// Live-preview notifications.
    pub hub: crate::events::listener::Hub,
    pub metrics: crate::metrics::Metrics,
    pub allow_private_webhooks: bool,
    /// The published index (resource index and search from memory).
    pub search: crate::search::SearchIndex,
    /// Uploads and the URLs of stored files.
    pub media: crate::media::Media,
}

/// The schema, with the services every resolver works through.
/// `suggestions` says whether validation errors may name fields the client
/// perhaps meant.
pub fn build_schema(services: Option<Services>, suggestions: bool) -> BeaconSchema {
    schema_validating(services, suggestions, async_graphql::ValidationMode::Strict)
}

/// The schema for requests validated before (see `validated`): it checks
/// only what execution needs. Nothing but an already validated request may
/// run on it.
pub fn build_prevalidated_schema(services: Services) -> BeaconSchema {
    schema_validating(Some(services), false, async_graphql::ValidationMode::Fast)
}

fn schema_validating(
    services: Option<Services>,
    suggestions: bool,
    validation: async_graphql::ValidationMode,
) -> BeaconSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        events::SubscriptionRoot,
    )
    .register_output_type::<content::types::Node>()
    // Beacon's own limits (graphql::limits) are the ones that bind:
    // async-graphql counts inline fragments and spreads as levels too, and
    // must not refuse what those allow.
    .limit_recursive_depth(256)
    .validation_mode(validation);
    if !suggestions {
        builder = builder.disable_suggestions();
    }
    match services {
        Some(services) => builder
            .data(services.pools)
            .data(services.identity)
            .data(services.editorial)
            .data(services.hub)
            .data(services.metrics)
            .data(services.search)
            .data(services.media)
            .data(events::AllowPrivateWebhooks(
                services.allow_private_webhooks,
            ))
            .finish(),
        None => builder.finish(),
    }
}

/// Executes one request for `viewer`, with its own loaders: published ones
/// always, draft ones only when the viewer may preview. A panic anywhere
/// in it becomes an `INTERNAL` error.
pub async fn execute(
    schema: &BeaconSchema,
    viewer: Viewer,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let pools = schema
        .data::<Pools>()
        .expect("a schema that executes requests is built with its services");
    let queue = batch::BatchQueue::default();
    let may_preview = crate::domain::access::authorize(viewer.actor(), Action::Preview).is_ok();
    let loaders = access::StageLoaders {
        published: loaders::loaders(
            pools.published.clone(),
            Stage::Published,
            &queue,
            schema.data::<crate::search::SearchIndex>().cloned(),
        ),
        draft: may_preview
            .then(|| loaders::loaders(pools.primary.clone(), Stage::Draft, &queue, None)),
    };
    let request = request.data(viewer).data(loaders);
    // async-graphql's execution is a future of many kilobytes: on the heap
    // it is moved as a pointer, where each wrapper (the batch queue, the
    // panic guard, the timeout) would otherwise copy it whole.
    guarded(queue.drive(Box::pin(schema.execute(request)))).await
}

/// The answer of `execution`, or an `INTERNAL` error if it panics: a bug
/// in one resolver costs one answer, never the server or the connection.
/// (Guarding each field instead would put every resolver behind an
/// extension hook, which costs more than the rest of a simple query.)
async fn guarded(
    execution: impl std::future::Future<Output = async_graphql::Response>,
) -> async_graphql::Response {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(execution).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => async_graphql::Response::from_errors(vec![error::panicked(panic.as_ref())]),
    }
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None, true)
        .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, Value};

    #[tokio::test]
    async fn a_panicking_resolver_becomes_an_internal_error() {
        struct Query;
        #[Object]
        impl Query {
            async fn broken(&self, divisor: i32) -> i32 {
                // A bug: nothing checks the divisor.
                1 / divisor
            }
        }
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let response = super::guarded(schema.execute("{ broken(divisor: 0) }")).await;
        let error = &response.errors[0];
        assert_eq!(error.message, "internal error");
        let code = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .cloned();
        assert_eq!(code, Some(Value::from("INTERNAL")));
        // The next request is answered as usual.
        let fine = super::guarded(schema.execute("{ broken(divisor: 1) }")).await;
        assert!(fine.errors.is_empty());
    }
}
