//! SQL: checked-in DDL -> schema, and analysis of item statements.
