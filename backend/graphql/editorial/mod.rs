//! The editorial API: content mutations, workflow actions, the audit log,
//! and the editor-facing fields every content type carries.

mod errors;
mod fields;
mod inputs;
mod mutations;
mod query;
mod types;

use errors::*;
pub use fields::*;
pub use inputs::*;
pub use mutations::*;
pub use query::*;
pub use types::*;

pub(crate) use fields::editor_fields;
