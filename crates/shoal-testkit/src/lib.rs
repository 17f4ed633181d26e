//! shoal-testkit (under construction).
