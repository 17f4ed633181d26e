//! The one integration test binary of shoal-pearldiver: model round trips, and (feature
//! `client`) the client against captured requests and the testkit emulator.

mod roundtrip;
