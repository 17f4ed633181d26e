//! Time for the whole SDK: the [`Clock`] trait, the system clock and a manual clock for tests.
//!
//! Nothing else in Shoal reads the time or sleeps directly, so expiry, pacing and backoff can be
//! tested without waiting.
#![allow(clippy::disallowed_methods)] // the one module allowed to read the time

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

/// A boxed future returned by [`Clock::sleep`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of monotonic time, wall time and sleeps.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Monotonic now, for durations and deadlines inside one process.
    fn now(&self) -> Instant;
    /// Wall-clock now, for anything persisted or compared with a server (token expiry, HTTP dates).
    fn system_now(&self) -> SystemTime;
    /// A future that completes once `duration` has passed on this clock.
    fn sleep(&self, duration: Duration) -> Sleep;
    /// A future that completes at `deadline` on this clock.
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        self.sleep(deadline.saturating_duration_since(self.now()))
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock, built on tokio's timer.
///
/// Monotonic time and sleeps follow tokio's clock, so a test that pauses tokio time
/// (`#[tokio::test(start_paused = true)]`) drives pacing and backoff virtually.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// A shared handle to the system clock.
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
    fn system_now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }
}

/// A resettable timer on tokio's clock (the [`SystemClock`]'s), for the transport's I/O, which
/// runs on tokio's clock whatever clock a pipeline is given.
#[cfg(feature = "reqwest")]
pub(crate) fn io_timer(duration: Duration) -> tokio::time::Sleep {
    tokio::time::sleep(duration)
}

/// A clock that moves only when told to.
///
/// Sleepers wake when [`ManualClock::advance`] carries the clock past their deadline. Clones share
/// the same time.
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

struct ManualInner {
    base: Instant,
    wall_base: SystemTime,
    offset: Mutex<Duration>,
    tick: watch::Sender<Duration>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("elapsed", &self.elapsed())
            .finish()
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A manual clock whose wall time starts at 2026-01-01T00:00:00Z.
    pub fn new() -> Self {
        Self::starting_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600))
    }

    /// A manual clock whose wall time starts at `wall`.
    pub fn starting_at(wall: SystemTime) -> Self {
        let (tick, _) = watch::channel(Duration::ZERO);
        Self {
            inner: Arc::new(ManualInner {
                base: Instant::now(),
                wall_base: wall,
                offset: Mutex::new(Duration::ZERO),
                tick,
            }),
        }
    }

    /// A shared handle to this clock.
    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }

    /// How far the clock has been advanced.
    pub fn elapsed(&self) -> Duration {
        *self.inner.offset.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves the clock forward and wakes every sleeper whose deadline has passed.
    pub fn advance(&self, by: Duration) {
        let now = {
            let mut offset = self.inner.offset.lock().unwrap_or_else(|e| e.into_inner());
            *offset += by;
            *offset
        };
        self.inner.tick.send_replace(now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.inner.base + self.elapsed()
    }
    fn system_now(&self) -> SystemTime {
        self.inner.wall_base + self.elapsed()
    }
    fn sleep(&self, duration: Duration) -> Sleep {
        let target = self.elapsed() + duration;
        let mut rx = self.inner.tick.subscribe();
        Box::pin(async move {
            loop {
                if *rx.borrow_and_update() >= target {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
    }
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        self.sleep(deadline.saturating_duration_since(self.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_sleep_wakes_only_after_advance() {
        let clock = ManualClock::new();
        let start = clock.now();
        let sleeper = tokio::spawn(clock.sleep(Duration::from_secs(10)));
        clock.advance(Duration::from_secs(9));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(1));
        sleeper.await.unwrap();
        assert_eq!(clock.now() - start, Duration::from_secs(10));
    }

    #[tokio::test]
    async fn manual_wall_time_moves_with_monotonic_time() {
        let clock = ManualClock::new();
        let wall = clock.system_now();
        clock.advance(Duration::from_secs(90));
        assert_eq!(
            clock.system_now().duration_since(wall).unwrap(),
            Duration::from_secs(90)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn system_clock_follows_paused_tokio_time() {
        let clock = SystemClock;
        let start = clock.now();
        clock.sleep(Duration::from_secs(3600)).await;
        assert!(clock.now() - start >= Duration::from_secs(3600));
    }
}
