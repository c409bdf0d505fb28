//! Integration tests: one binary, a real PostgreSQL, a fresh database per test.

mod support;

mod access;
mod admin;
mod admin_browser;
mod admin_editing;
mod admin_manage;
mod answer_cache;
mod architecture;
mod browser;
mod cli;
mod cluster;
mod docs;
mod edge;
mod front_door;
mod graphql_read;
mod identity;
mod live_preview;
mod media;
mod operations;
mod partner_api;
mod schema;
mod search_index;
mod security;
mod seed_jobs;
mod webhooks;
mod workflow;
