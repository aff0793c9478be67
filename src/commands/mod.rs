//! One module per subcommand.

pub mod check;
pub mod docs;
pub mod expand;
pub mod schema;
