//! The mee runtime: what generated pipeline code links against, and the I/O engines that drive it
//! (MySQL reads, binlog decoding, Kafka and Elasticsearch).

pub mod bench_support;
pub mod binlog;
pub mod es;
pub mod eval;
pub mod value;

pub use value::Value;
