//! [`SingleFlight`]: at most one credential operation (a refresh, a login) at a time, run to
//! completion in a task of its own and shared by every caller that needs it.
//!
//! The work runs in a spawned task, not in the caller's future: a caller dropped at any
//! `.await` (a deadline, a `select!`, an aborted export) cannot cut a refresh between the token
//! endpoint's answer and the save — what the server has done is always finished and stored.

use std::future::Future;
use std::sync::Mutex;

use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};
use shoal_core::{AuthErrorKind, Error, Result};

type Flight = Shared<BoxFuture<'static, Result<()>>>;

/// One operation in flight at a time; callers that arrive while it runs share its outcome.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use shoal_auth::SingleFlight;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let flight = Arc::new(SingleFlight::default());
/// let runs = Arc::new(AtomicU32::new(0));
/// let calls = (0..8).map(|_| {
///     let (flight, runs) = (flight.clone(), runs.clone());
///     async move {
///         flight
///             .run(|| async move {
///                 runs.fetch_add(1, Ordering::SeqCst);
///                 tokio::task::yield_now().await;
///                 Ok(())
///             })
///             .await
///     }
/// });
/// for r in futures_util::future::join_all(calls).await {
///     r?;
/// }
/// assert_eq!(runs.load(Ordering::SeqCst), 1);
/// # Ok::<_, shoal_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Default)]
pub struct SingleFlight {
    current: Mutex<Option<Flight>>,
}

impl std::fmt::Debug for SingleFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleFlight")
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl SingleFlight {
    /// Whether an operation is running now.
    pub fn in_flight(&self) -> bool {
        self.lock()
            .as_ref()
            .is_some_and(|flight| flight.peek().is_none())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Flight>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Joins the operation in flight, or starts `start()` as the new one, and waits for its
    /// outcome. `start` is called only when nothing is in flight (under the flight's lock); the
    /// future it returns should check first whether its work is still needed, since a flight
    /// may have finished just before.
    pub async fn run<F, Fut>(&self, start: F) -> Result<()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let flight = {
            let mut current = self.lock();
            match current.as_ref() {
                Some(flight) if flight.peek().is_none() => flight.clone(),
                _ => Self::launch(&mut current, start()),
            }
        };
        flight.await
    }

    /// Runs `start()` as a flight of its own — after the one in flight, if any, never joined
    /// with it (a login or a forced rotation must happen, not be folded into another refresh).
    ///
    /// The flight is chained after the current one and launched at once, in the first poll, so
    /// it runs (and [`settle`](Self::settle) waits for it) even if the caller is dropped while
    /// the earlier flight is still running: a login's tokens in hand are never lost there.
    pub async fn run_own<F, Fut>(&self, start: F) -> Result<()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let flight = {
            let mut current = self.lock();
            let earlier = current
                .as_ref()
                .filter(|flight| flight.peek().is_none())
                .cloned();
            let work = start();
            Self::launch(&mut current, async move {
                if let Some(earlier) = earlier {
                    let _ = earlier.await;
                }
                work.await
            })
        };
        flight.await
    }

    fn launch<Fut>(current: &mut Option<Flight>, work: Fut) -> Flight
    where
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let task = tokio::spawn(work);
        let flight: Flight = async move {
            task.await.unwrap_or_else(|e| {
                Err(Error::auth(
                    AuthErrorKind::Login,
                    format!("the credential task stopped: {e}"),
                ))
            })
        }
        .boxed()
        .shared();
        *current = Some(flight.clone());
        flight
    }

    /// Waits for the operation in flight, if any, without starting one.
    pub async fn settle(&self) {
        let flight = self.lock().clone();
        if let Some(flight) = flight {
            let _ = flight.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::task::Poll;

    /// Polls a future once, giving back whether it finished.
    async fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
        let mut fut = Some(fut);
        std::future::poll_fn(|cx| Poll::Ready(fut.take().map(|f| f.poll(cx))))
            .await
            .unwrap_or(Poll::Pending)
    }

    #[tokio::test]
    async fn a_dropped_caller_does_not_cancel_the_work() {
        let flight = Arc::new(SingleFlight::default());
        let done = Arc::new(AtomicU32::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let d = done.clone();
        let caller = flight.run(move || async move {
            let _ = rx.await;
            d.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        // Poll once so the flight starts, then drop the caller.
        let mut caller = Box::pin(caller);
        assert!(poll_once(caller.as_mut()).await.is_pending());
        drop(caller);
        assert!(flight.in_flight());
        tx.send(()).unwrap();
        flight.settle().await;
        assert_eq!(done.load(Ordering::SeqCst), 1);
        assert!(!flight.in_flight());
    }

    #[tokio::test]
    async fn an_own_flight_waits_for_the_current_one_and_is_never_joined() {
        let flight = Arc::new(SingleFlight::default());
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let o = order.clone();
        let first = flight.run(move || async move {
            let _ = rx.await;
            o.lock().unwrap().push("refresh");
            Ok(())
        });
        let mut first = Box::pin(first);
        assert!(poll_once(first.as_mut()).await.is_pending());
        let o = order.clone();
        let f2 = flight.clone();
        let own = tokio::spawn(async move {
            f2.run_own(move || async move {
                o.lock().unwrap().push("login");
                Ok(())
            })
            .await
        });
        tokio::task::yield_now().await;
        tx.send(()).unwrap();
        first.await.unwrap();
        own.await.unwrap().unwrap();
        assert_eq!(*order.lock().unwrap(), vec!["refresh", "login"]);
    }

    #[tokio::test]
    async fn joiners_share_a_failure_and_a_later_call_starts_afresh() {
        let flight = SingleFlight::default();
        let err = flight
            .run(|| async { Err(Error::Config("boom".into())) })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("boom"));
        flight.run(|| async { Ok(()) }).await.unwrap();
    }
}
