//! shoal-pebblepad (under construction).
