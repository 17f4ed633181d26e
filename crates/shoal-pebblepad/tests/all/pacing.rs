//! The acceptance runs against the testkit emulator: 64 tasks, 600 mixed calls, one client, zero
//! 429s and at least 90% of the allowed rate; and the same run with the limits changed halfway.
//!
//! Time is tokio's paused clock, shared by the client (through `SystemClock`) and the emulator
//! (its default clock): the runtime jumps to the next timer only when every task is idle, so a
//! virtual minute costs no real time and the emulator's rolling window sees exactly the instants
//! the client's limiter paced to.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use shoal_auth::RefreshSettings;
use shoal_core::{Clock, SystemClock};
use shoal_pebblepad::{BasicUserInfo, PebblePadClient, Target};
use shoal_testkit::pebblepad::RateLimits;

use crate::support::{emulator, emulator_client};

const TASKS: usize = 64;
const CALLS: usize = 600;
const WINDOW: Duration = Duration::from_secs(60);

fn limits(get: u32, post: u32) -> RateLimits {
    RateLimits {
        get,
        post,
        put: 120,
        delete: 60,
        concurrency: 4,
        window: WINDOW,
    }
}

/// Call `n`: every fifth a POST (a user create), the rest GETs (a user's grades) — the 4:1 mix
/// of the 120 GET / 30 POST limits, so both limits bind.
async fn call(client: &PebblePadClient, n: usize) -> shoal_core::Result<()> {
    if n % 5 == 4 {
        let user = BasicUserInfo::new(format!("load-user-{n}"));
        client.users().create(&user).send().await.map(drop)
    } else {
        let user = Target::custom_id(format!("S{n:06}"));
        client.grades().for_user(user).send().await.map(drop)
    }
}

/// Runs the 600 calls from 64 tasks; returns the virtual time it took.
async fn run(client: &PebblePadClient) -> Duration {
    let clock = SystemClock;
    let start = clock.now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                for n in (t..CALLS).step_by(TASKS) {
                    call(&client, n).await?;
                }
                Ok::<_, shoal_core::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    clock.now() - start
}

/// 429s on the emulator's traffic record, by method.
fn rejections(emu: &shoal_testkit::pebblepad::PebblePad) -> BTreeMap<String, usize> {
    let mut by_method = BTreeMap::new();
    for r in emu.traffic().requests() {
        if r.status == Some(429) {
            *by_method.entry(r.method.clone()).or_default() += 1;
        }
    }
    by_method
}

#[tokio::test(start_paused = true)]
async fn sixty_four_tasks_never_trip_the_limits_and_use_at_least_90_percent_of_them() {
    let emu = emulator(limits(120, 30)).await;
    let client = emulator_client(&emu, None, RefreshSettings::default()).await;
    let elapsed = run(&client).await;

    eprintln!("600 calls in {elapsed:?} of virtual time");
    assert!(rejections(&emu).is_empty(), "429s: {:?}", rejections(&emu));
    assert_eq!(emu.traffic().rate_limited(), 0);
    assert_eq!(client.stats().rate_limited, 0);
    assert_eq!(emu.traffic().count("POST", "/api/1.1/User/Create"), 120);
    // Allowed: 120 GET + 30 POST per rolling minute. Achieved: 600 calls over the run.
    let allowed_per_minute = 150.0;
    let achieved_per_minute = CALLS as f64 / (elapsed.as_secs_f64() / 60.0);
    assert!(
        achieved_per_minute >= 0.9 * allowed_per_minute,
        "achieved {achieved_per_minute:.1}/min in {elapsed:?}, allowed {allowed_per_minute}/min"
    );
    let status = client.rate_limits().await.unwrap();
    assert_eq!(status.methods["GET"].limit, Some(120));
    assert_eq!(status.concurrency_limit, Some(4));
    assert_eq!(status.rejections, 0);
}

/// The run with the limits lowered to 60 GET / 15 POST once `moment` (given the emulator) is
/// over; the virtual time it took and its 429s by method, the new limits checked adopted.
async fn run_with_limits_lowered<F, Fut>(moment: F) -> (Duration, BTreeMap<String, usize>)
where
    F: FnOnce(Arc<shoal_testkit::pebblepad::PebblePad>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let emu = Arc::new(emulator(limits(120, 30)).await);
    let client = emulator_client(&emu, None, RefreshSettings::default()).await;
    let moment = moment(emu.clone());
    let changer = {
        let emu = emu.clone();
        tokio::spawn(async move {
            moment.await;
            emu.set_limits(limits(60, 15));
        })
    };
    let elapsed = run(&client).await;
    changer.await.unwrap();
    let rejected = rejections(&emu);
    let status = client.rate_limits().await.unwrap();
    assert_eq!(status.methods["GET"].limit, Some(60));
    assert_eq!(status.methods["POST"].limit, Some(15));
    (elapsed, rejected)
}

#[tokio::test(start_paused = true)]
async fn limits_changed_halfway_are_adopted_without_a_429_storm() {
    let (elapsed, rejected) = run_with_limits_lowered(|_| async {
        // Halfway through the ~4 virtual minutes the original limits need.
        SystemClock.sleep(Duration::from_secs(90)).await;
    })
    .await;
    eprintln!("changed halfway: {elapsed:?} of virtual time, 429s {rejected:?}");
    assert!(
        rejected.values().all(|n| *n <= 1),
        "429 storm: {rejected:?}"
    );
    // Under the new limits the rest of the run takes longer: the client really slowed down.
    assert!(elapsed > Duration::from_secs(240), "{elapsed:?}");
    // And it still used the new limits well: no more than a window beyond the ideal.
    assert!(elapsed < Duration::from_secs(600), "{elapsed:?}");
}

/// Calls of the resource API the emulator has answered so far.
fn answered(emu: &shoal_testkit::pebblepad::PebblePad) -> usize {
    emu.traffic()
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/1.1/") && r.status.is_some())
        .count()
}

/// The hard case: the limits drop while calls are on the wire. The calls already sent when the
/// server changed its limits are judged by the new ones and no client can take them back (at
/// most the concurrency limit, 4, for the method caught in flight). Every other method learns
/// the change through one probe (see `ProbingBackend`): at most one 429 each.
#[tokio::test(start_paused = true)]
async fn limits_lowered_mid_burst_cost_at_most_one_429_per_other_method() {
    let (elapsed, rejected) = run_with_limits_lowered(|emu| async move {
        // Wake with the second burst (the first window's calls slide out at 60 s plus the
        // limiter's 25 ms slack), then change the limits in the middle of it: the emulator's
        // window already holds more calls than the new limits allow.
        SystemClock.sleep(WINDOW + Duration::from_millis(25)).await;
        while answered(&emu) < 150 + 110 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    eprintln!("lowered mid-burst: {elapsed:?} of virtual time, 429s {rejected:?}");
    let caught_in_flight = rejected.values().filter(|n| **n > 1).count();
    assert!(caught_in_flight <= 1, "429 storm: {rejected:?}");
    assert!(
        rejected.values().all(|n| *n <= 4),
        "429 storm: {rejected:?}"
    );
    assert!(rejected.values().sum::<usize>() <= 4 + 1, "{rejected:?}");
}
