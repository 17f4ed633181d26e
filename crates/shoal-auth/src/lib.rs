//! shoal-auth (under construction).
