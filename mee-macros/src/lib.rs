//! Procedural macros for mee. Internal to mee and semver-exempt: use `mee::pipeline!`.
