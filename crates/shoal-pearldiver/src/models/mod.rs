//! The Pearl Diver payloads: lenient, loss-free serde models (they need no client).

mod audience;
mod datetime;
mod record;
mod session;

pub use audience::{Audience, AudienceList, AudienceSummary};
pub use datetime::LenientDateTime;
pub use record::{Address, Company, Phone, Record};
pub use session::{Session, Utm, Visit};
