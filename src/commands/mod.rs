//! One module per subcommand.

pub mod check;
pub mod connect;
pub mod docs;
pub mod expand;
pub mod progress;
pub mod run;
pub mod schema;
pub mod update;
pub mod verify;
