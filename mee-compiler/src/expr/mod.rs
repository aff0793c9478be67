//! The two small languages inside handler files: `%placeholders` and db_field expressions.
