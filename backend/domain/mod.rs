//! Domain rules: the content model, slugs and validation. Plain data and
//! functions; no database, no GraphQL.

pub mod access;
pub mod content;
pub mod ids;
pub mod media;
pub mod patch;
pub mod seed_run;
pub mod slug;
pub mod validation;
pub mod webhook;
pub mod workflow;

pub use content::{Content, Kind, Stage};
