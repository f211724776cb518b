//! What every broker consumer shares: a task that keeps following its broker until told to stop.
//! Each attempt connects and reads until an error; the error is recorded in health and the next
//! attempt waits a capped exponential backoff, which an attempt resets once it is connected.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::engine::Engine;

pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

pub struct Handle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Handle {
    /// Ask the consumer to stop and wait for it, at most `wait`.
    pub fn stop(self, runtime: &tokio::runtime::Handle, wait: Duration) {
        let _ = self.stop.send(true);
        let task = self.task;
        runtime.block_on(async move {
            let _ = tokio::time::timeout(wait, task).await;
        });
    }
}

/// A broker consumer: its state survives reconnects (the position read up to, for one).
pub trait Follower: Send + 'static {
    /// Connect and read until an error; call [`connected`] once connected.
    fn follow(&mut self, engine: &Engine, backoff: &mut Duration) -> impl Future<Output = Result<(), String>> + Send;

    /// Finish what was read before the stop (the default: nothing to finish).
    fn finish(self) -> impl Future<Output = ()> + Send
    where
        Self: Sized,
    {
        async {}
    }
}

/// Run `follower` on `runtime` until the handle stops it: each error is recorded in health and
/// followed by a capped exponential backoff before the next attempt.
pub fn spawn(engine: Arc<Engine>, runtime: &tokio::runtime::Handle, mut follower: impl Follower) -> Handle {
    let (stop, mut stopped) = watch::channel(false);
    let task = runtime.spawn(async move {
        let mut backoff = FIRST_BACKOFF;
        engine.health.running.store(true, Ordering::Relaxed);
        while !*stopped.borrow() {
            let result = tokio::select! {
                r = follower.follow(&engine, &mut backoff) => r,
                _ = stopped.changed() => break,
            };
            engine.health.connected.store(false, Ordering::Relaxed);
            if let Err(e) = result {
                *engine.health.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = stopped.changed() => break,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        follower.finish().await;
        engine.health.running.store(false, Ordering::Relaxed);
        engine.health.connected.store(false, Ordering::Relaxed);
    });
    Handle { stop, task }
}

/// Mark the consumer connected: clear the last error and reset the backoff.
pub fn connected(engine: &Engine, backoff: &mut Duration) {
    engine.health.connected.store(true, Ordering::Relaxed);
    *engine.health.last_error.lock().unwrap_or_else(PoisonError::into_inner) = None;
    *backoff = FIRST_BACKOFF;
}
