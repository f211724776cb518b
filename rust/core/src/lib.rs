//! stemtrace's engine, free of Python: decode wire events, keep the flows in memory,
//! answer queries as JSON bytes, and follow a Redis Stream or a RabbitMQ queue.
//!
//! The Python bindings (`rust/py`) only convert arguments and release the GIL around
//! calls into [`Engine`].

mod amqp;
pub mod consumer;
mod delta;
mod engine;
pub mod error;
pub mod event;
pub mod event_log;
pub mod feed;
mod hash;
pub mod json;
pub mod order;
pub mod postings;
pub mod query;
mod redis_url;
pub mod resp;
mod scan;
mod search;
pub mod sender;
pub mod state;
pub mod stats;
pub mod store;
mod supervise;
pub mod time;
mod tls;
mod view;
pub mod workers;

pub use engine::{decode_and_lay_out, now_micros, Engine, EngineConfig};
pub use error::{Error, Result};
