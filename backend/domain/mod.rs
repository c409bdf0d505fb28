//! Domain rules: the content model, slugs and validation. Plain data and
//! functions; no database, no GraphQL.

pub mod access;
pub mod content;
pub mod patch;
pub mod slug;
pub mod validation;
pub mod webhook;
pub mod workflow;

pub use content::{Content, Kind, Stage};
