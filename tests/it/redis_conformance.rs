//! The store conformance suite against a real `redis-server`.

use std::sync::Arc;

use poolgate::store::redis::RedisStore;

use crate::redis_server::RedisServer;
use crate::store_conformance;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_conformance() {
    let server = RedisServer::start();
    let store = RedisStore::open(&server.url())
        .await
        .expect("open redis store");
    store_conformance::run_all(Arc::new(store)).await;
}
