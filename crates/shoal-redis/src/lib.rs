//! shoal-redis (under construction).
