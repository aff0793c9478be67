//! A test failure that prints as one plain message (no panic, no backtrace).

use std::fmt;

/// The error type of integration tests. `Debug` prints the plain message, so a test returning
/// `Err` shows `Error: MariaDB is not reachable ...` and nothing else.
pub struct TestFailure {
    message: String,
}

pub type TestResult<T = ()> = Result<T, TestFailure>;

impl TestFailure {
    pub fn new(message: impl Into<String>) -> Self {
        TestFailure {
            message: message.into(),
        }
    }

    /// Any error as a test failure: `.map_err(fail)?`.
    pub fn of(e: impl fmt::Display) -> Self {
        TestFailure::new(e.to_string())
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Debug for TestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for TestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

macro_rules! from_error {
    ($($t:ty => $what:literal),* $(,)?) => {$(
        impl From<$t> for TestFailure {
            fn from(e: $t) -> Self {
                TestFailure::new(format!(concat!($what, ": {}"), e))
            }
        }
    )*};
}

from_error! {
    mysql_async::Error => "MySQL error",
    elasticsearch::Error => "Elasticsearch error",
    rdkafka::error::KafkaError => "Kafka error",
    serde_json::Error => "JSON error",
    std::io::Error => "I/O error",
    String => "failure",
}

impl From<&str> for TestFailure {
    fn from(e: &str) -> Self {
        TestFailure::new(e)
    }
}

/// Any error as a test failure, for `.map_err(fail)?`.
pub fn fail(e: impl fmt::Display) -> TestFailure {
    TestFailure::of(e)
}
