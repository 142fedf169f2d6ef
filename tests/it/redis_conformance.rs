//! The store conformance suite against a real `redis-server`: one test per contract,
//! each with a throwaway server of its own.

use std::sync::Arc;

use poolgate::store::redis::RedisStore;

use crate::redis_server::RedisServer;
use crate::store_conformance::{Fresh, contract_tests};

async fn fresh_redis() -> Fresh {
    let server = RedisServer::start();
    let store = RedisStore::open(&server.url())
        .await
        .expect("open redis store");
    Fresh {
        backend: Arc::new(store),
        _keep: Box::new(server),
    }
}

contract_tests!(redis_contracts, super::fresh_redis);
