//! The error type of the Elasticsearch layer.
//!
//! Every variant carries plain strings rather than the client library's error values, so that one
//! error can be cloned into every ticket whose operations it affected and printed as one sentence.

use thiserror::Error;

/// What went wrong talking to Elasticsearch/OpenSearch.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum EsError {
    /// The URL given in the configuration could not be parsed or used.
    #[error("invalid Elasticsearch URL `{url}`: {reason}")]
    BadUrl { url: String, reason: String },

    /// Nothing listens at the address (connection refused, unknown host, ...).
    #[error(
        "the Elasticsearch server at {url} is not reachable ({cause}); check that it is running and \
         that the URL is right"
    )]
    Unreachable { url: String, cause: String },

    /// The request was sent but failed on the way (timeout, reset connection, truncated body).
    #[error("request {method} {path} to {url} failed: {cause}")]
    Transport {
        url: String,
        method: String,
        path: String,
        cause: String,
    },

    /// The server answered with an error status.
    #[error("request {method} {path} answered HTTP {status}{}: {reason}", error_type_suffix(.error_type))]
    Status {
        method: String,
        path: String,
        status: u16,
        error_type: String,
        reason: String,
    },

    /// The server answered 2xx with a body that is not what the API documents.
    #[error("unexpected answer to {method} {path}: {reason}")]
    Protocol {
        method: String,
        path: String,
        reason: String,
    },

    /// A bulk request could not be delivered within the configured attempts; the outcome of its
    /// operations is unknown, so the caller must submit them again (external versions make that safe).
    #[error("bulk request not delivered after {attempts} attempts: {last_error}")]
    BulkUnavailable { attempts: u32, last_error: String },

    /// The bulk writer was dropped, or one of its request tasks died, before the ticket resolved.
    #[error("the bulk writer stopped before these operations were acknowledged")]
    Abandoned,
}

fn error_type_suffix(error_type: &str) -> String {
    if error_type.is_empty() {
        String::new()
    } else {
        format!(" ({error_type})")
    }
}

impl EsError {
    /// Whether retrying the same request later may succeed: transport problems, overload (429)
    /// and server-side errors (5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            EsError::Unreachable { .. }
            | EsError::Transport { .. }
            | EsError::BulkUnavailable { .. } => true,
            EsError::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            EsError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Shorthand for results of this module.
pub type EsResult<T> = Result<T, EsError>;
