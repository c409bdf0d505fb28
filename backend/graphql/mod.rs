//! The GraphQL schema: types, resolvers and errors. Knows the database layer
//! and the domain, not HTTP.

pub mod batch;
pub mod connection;
pub mod error;
pub mod ids;
pub mod loaders;
pub mod query;
pub mod search;
pub mod types;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};

pub use query::{QueryRoot, Visibility};

use crate::db::PgPool;

pub type BeaconSchema = Schema<QueryRoot, EmptyMutation, EmptySubscription>;

/// The schema, with the pool every resolver reads through.
pub fn build_schema(pool: Option<PgPool>) -> BeaconSchema {
    let builder = Schema::build(QueryRoot, EmptyMutation, EmptySubscription)
        .register_output_type::<types::Node>();
    match pool {
        Some(pool) => builder.data(pool).finish(),
        None => builder.finish(),
    }
}

/// Executes one request against published content or drafts (`stage`),
/// with its own loaders.
pub async fn execute(
    schema: &BeaconSchema,
    pool: &PgPool,
    stage: crate::domain::Stage,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let queue = batch::BatchQueue::default();
    let request =
        request
            .data(Visibility { stage })
            .data(loaders::loaders(pool.clone(), stage, &queue));
    queue.drive(schema.execute(request)).await
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None).sdl()
}
