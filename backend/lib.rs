//! Beacon: a GraphQL content backend and headless CMS for curated guidance
//! content.
//!
//! - [`http`]: routes and the HTTP server;
//! - [`graphql`]: the schema partners query;
//! - [`domain`]: the content model and its rules, plain data and functions;
//! - [`db`]: PostgreSQL access (pool, migrations, queries);
//! - [`seed`]: seed-loading jobs and export;
//! - [`events`]: the outbox, webhook deliveries, live-preview notifications;
//! - [`metrics`]: what `GET /metrics` reports;
//! - [`cluster`]: the embedded PostgreSQL default;
//! - [`config`] and [`cli`]: the command line.

pub mod cli;
pub mod cluster;
pub mod config;
pub mod db;
pub mod domain;
pub mod editorial;
pub mod events;
pub mod graphql;
pub mod http;
pub mod identity;
pub mod media;
pub mod metrics;
pub mod search;
pub mod seed;
pub mod telemetry;
