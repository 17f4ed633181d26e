//! # shoal-testkit
//!
//! In-process emulators of the three services Shoal talks to — **Pearl Diver**, **PebblePad** and
//! **Paya Connect** — that follow the contracts in `api/*.md` closely enough that a client passing
//! against them would pass against the real service: refresh-token rotation with reuse detection,
//! sliding sessions, rolling per-method rate limits, opaque page tokens, bodiless errors, 422 bodies.
//!
//! **Who depends on it:** every Shoal crate as a *dev-dependency* (integration tests), and
//! `shoal-cli` as a normal dependency (`shoal demo`, `shoal sandbox`). Not meant for production code.
//!
//! **Cargo features:** `proptest` adds `hostile::strategy` (proptest strategies over hostile
//! answers). Each emulator listens on `127.0.0.1` (port 0 by default), takes its time from an
//! injectable [`shoal_core::SharedClock`], draws data from the seeded [`Synth`] generator, records
//! its traffic ([`Traffic`]) and obeys a fault script ([`Faults`]). Authorization servers accept
//! only their registered redirect URIs ([`RedirectUris`], exact unless told otherwise) and ask an
//! emulated user ([`Consent`]). [`fixtures`] renders deterministic payloads for
//! `cargo xtask fixtures`.
//!
//! Modules: [`pearldiver`], [`pebblepad`], [`paya`] (one emulator each; every one is the same
//! [`Emulator`] handle: `start(config)`, `start_with_clock(clock)`, `endpoints()`, `traffic()`,
//! `faults()`, `shutdown()`, plus the vendor's own knobs), [`hostile`] (a server that answers
//! every vendor path with crafted, hostile responses), [`sandbox`] (all three on fixed ports until
//! Ctrl-C, for `shoal sandbox`), [`authorize`], [`faults`], [`traffic`], [`synth`], [`fixtures`].
//!
//! ```
//! use shoal_testkit::pearldiver::{PearlDiver, PearlDiverConfig};
//! use shoal_testkit::{Fault, ManualClock};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let clock = ManualClock::new();
//! let pd = PearlDiver::start(PearlDiverConfig { clock: clock.shared(), ..Default::default() }).await?;
//! let tokens = pd.mint_tokens();
//! assert!(pd.refresh_token_is_live(&tokens.refresh_token));
//! pd.faults().push(Fault::status(503).times(2).on_path("/v1/audiences").retry_after("1"));
//! println!("API at {}", pd.endpoints().api_base);
//! pd.shutdown().await;
//! # Ok::<_, std::io::Error>(())
//! # }).unwrap();
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod authorize;
pub mod faults;
pub mod fixtures;
pub mod hostile;
pub mod paya;
pub mod pearldiver;
pub mod pebblepad;
pub mod sandbox;
mod server;
pub use server::Emulator;
pub mod synth;
pub mod traffic;
mod wire;
pub mod worker_args;

pub use authorize::{Consent, DEFAULT_REDIRECT_URI, RedirectUris};
pub use faults::{Fault, FaultKind, Faults};
pub use sandbox::{Sandbox, SandboxConfig, SandboxInfo, run_sandbox};
pub use shoal_core::{ManualClock, SharedClock, SystemClock};
pub use synth::{Person, Synth};
pub use traffic::{RecordedRequest, Traffic};
