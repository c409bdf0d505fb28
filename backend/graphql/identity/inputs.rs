//! What admins send to create users and tokens.

use crate::graphql::scalars::Timestamp;
use async_graphql::InputObject;

use super::*;

/// A new user.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// Sign-in email, unique whatever its case.
    pub(super) email: String,
    /// Name shown to colleagues.
    pub(super) name: String,
    /// What the user may do.
    pub(super) role: Role,
    /// At least 10 characters.
    pub(super) password: String,
}

/// A new API token.
#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// What it is for, e.g. "Partner site (production)".
    pub(super) name: String,
    /// What it may do; PARTNER when omitted.
    pub(super) role: Option<Role>,
    /// When it stops working; never when omitted.
    pub(super) expires_at: Option<Timestamp>,
}
