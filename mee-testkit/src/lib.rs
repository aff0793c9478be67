//! Test harness for mee's integration tests.
