//! The GraphQL schema: types, resolvers and errors. Knows the database layer
//! and the domain, not HTTP.

pub mod access;
pub mod batch;
pub mod connection;
pub mod editorial;
pub mod error;
pub mod identity;
pub mod ids;
pub mod loaders;
pub mod query;
pub mod search;
pub mod types;

use async_graphql::{EmptySubscription, MergedObject, Schema};

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
    query::ContentQuery,
    identity::IdentityQuery,
    editorial::EditorialQuery,
);

/// Editing and publishing content; signing in; administration of users
/// and API tokens.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(editorial::EditorialMutation, identity::IdentityMutation);

pub type BeaconSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// What resolvers need that lives as long as the server.
pub struct Services {
    pub pool: PgPool,
    pub identity: Identity,
    pub editorial: crate::editorial::Editorial,
}

/// The schema, with the services every resolver works through.
pub fn build_schema(services: Option<Services>) -> BeaconSchema {
    let builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .register_output_type::<types::Node>();
    match services {
        Some(services) => builder
            .data(services.pool)
            .data(services.identity)
            .data(services.editorial)
            .finish(),
        None => builder.finish(),
    }
}

/// Executes one request for `viewer`, with its own loaders: published ones
/// always, draft ones only when the viewer may preview.
pub async fn execute(
    schema: &BeaconSchema,
    pool: &PgPool,
    viewer: Viewer,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let queue = batch::BatchQueue::default();
    let may_preview = crate::domain::access::authorize(viewer.actor(), Action::Preview).is_ok();
    let loaders = access::StageLoaders {
        published: loaders::loaders(pool.clone(), Stage::Published, &queue),
        draft: may_preview.then(|| loaders::loaders(pool.clone(), Stage::Draft, &queue)),
    };
    let request = request.data(viewer).data(loaders);
    queue.drive(schema.execute(request)).await
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None).sdl()
}
