//! Integration tests: one binary, a real PostgreSQL, a fresh database per test.

mod support;

mod access;
mod browser;
mod cli;
mod cluster;
mod delivery;
mod docs;
mod edge;
mod events;
mod front_door;
mod graphql_read;
mod identity;
mod schema;
mod security;
mod seed_jobs;
mod workflow;
