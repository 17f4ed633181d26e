//! shoal-pearldiver (under construction).
