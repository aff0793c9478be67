//! The mee runtime: what generated pipeline code links against.
