//! Users, sessions and API tokens over GraphQL: `login`, `logout`, `me`,
//! and the administration of users and tokens.

mod inputs;
mod mutations;
mod query;
mod types;

pub use inputs::*;
pub use mutations::*;
pub use query::*;
pub use types::*;
