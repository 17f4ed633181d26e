//! shoal-auth integration tests: one binary, one module per flow, against hyper token servers on 127.0.0.1.
