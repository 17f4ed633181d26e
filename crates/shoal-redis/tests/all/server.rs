//! The test helper's own contract: a fresh server per test, isolated from the others.

use shoal_redis::RedisServer;

#[test]
fn each_test_gets_its_own_empty_server() {
    let a = RedisServer::start();
    let b = RedisServer::start();
    assert_ne!(a.port(), b.port());
    let mut ca = a.client().get_connection().unwrap();
    let mut cb = b.client().get_connection().unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut ca).unwrap();
    let seen: Option<String> = redis::cmd("GET").arg("k").query(&mut cb).unwrap();
    assert_eq!(seen, None);
}
