//! The engine's error type; the bindings map each variant to a Python exception.

/// Everything the engine can refuse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The transport URL cannot be used (wrong scheme, unparsable).
    #[error("invalid transport URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// A query argument is out of range or malformed.
    #[error("invalid query parameter {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
}

pub type Result<T> = std::result::Result<T, Error>;
