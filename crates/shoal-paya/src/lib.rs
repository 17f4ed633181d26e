//! shoal-paya (under construction).
