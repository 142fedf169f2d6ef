//! Cross-instance invalidation of the in-process copies ([`super::cache`]): each write of
//! a cached record publishes what it changed on the deployment's channel, after the
//! write; every instance keeps one subscription to that channel and drops what each
//! message names. A lost subscription (connection closed, or a ping unanswered) turns
//! the copies off until it is back, then they start again empty.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;

use super::RedisStore;
use super::cache::{Cached, Changed, ConfigCache, Slot};
use crate::store::StoreResult;

/// How often the subscription is pinged: a silent dead link (a paused or partitioned
/// Redis) is noticed within this plus the command timeout.
const PING_EVERY: Duration = Duration::from_secs(1);
/// Waits between reconnection attempts: from the first to the last, doubling.
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_LAST: Duration = Duration::from_secs(1);

/// The channel of one deployment (one logical database: Pub/Sub is server-wide, so
/// deployments on other database numbers of the same server keep their own channel).
pub(crate) fn channel(db: i64) -> String {
    format!("poolgate:{{#}}:invalidate:{db}")
}

impl RedisStore {
    /// A read of a cached record: the copy when there is one, else `read` (kept
    /// unless an invalidation came meanwhile).
    pub(crate) async fn cached<V: Cached>(
        &self,
        slot: Slot<'_>,
        read: impl Future<Output = StoreResult<Option<V>>>,
    ) -> StoreResult<Option<V>> {
        let generation = match self.cache.get::<V>(&slot) {
            Ok(found) => return Ok(found),
            Err(g) => g,
        };
        let found = read.await?;
        self.cache.fill(generation, &slot, &found);
        Ok(found)
    }

    /// A write of a cached record: runs `write`, then drops this instance's copy and
    /// publishes `changed` (whatever the write's outcome: a failed or timed-out write
    /// may still have landed). Should the caller abandon this future mid-way, the drop
    /// and the publish still happen, from a task of their own.
    pub(crate) async fn written<T>(
        &self,
        changed: Changed,
        write: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let mut pending = Pending {
            store: self,
            changed: Some(changed),
        };
        let result = write.await;
        if let Some(changed) = pending.changed.take()
            && let Some(task) = self.announce(changed)
        {
            // The admin call answers once the other instances have been told.
            let _ = task.await;
        }
        result
    }

    /// Drops the copy here and publishes from a task of its own.
    fn announce(&self, changed: Changed) -> Option<tokio::task::JoinHandle<()>> {
        self.cache.apply(&changed);
        let handle = tokio::runtime::Handle::try_current().ok()?;
        let store = self.clone();
        Some(handle.spawn(async move {
            let msg = changed.encode();
            let sent: StoreResult<i64> = store
                .query(redis::cmd("PUBLISH").arg(&*store.channel).arg(&msg))
                .await;
            if let Err(e) = sent {
                // Other instances keep their copy until the TTL: the documented bound.
                tracing::warn!(error = %e, "could not publish a cache invalidation");
            }
        }))
    }
}

/// Publishes on drop when the write's future was abandoned before it finished.
struct Pending<'a> {
    store: &'a RedisStore,
    changed: Option<Changed>,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(changed) = self.changed.take() {
            let _ = self.store.announce(changed);
        }
    }
}

/// Starts the subscription of `cache` (ends once every clone of the store is gone).
pub(crate) fn spawn(
    source: super::conn::PubSubSource,
    cache: &Arc<ConfigCache>,
    channel: Arc<str>,
    op_timeout: Duration,
) {
    let weak = Arc::downgrade(cache);
    tokio::spawn(async move {
        let mut wait = RETRY_FIRST;
        loop {
            match subscribe(&source, &channel, op_timeout).await {
                Ok(pubsub) => {
                    let Some(cache) = weak.upgrade() else { return };
                    cache.go_live();
                    drop(cache);
                    wait = RETRY_FIRST;
                    listen(&weak, pubsub, op_timeout).await;
                }
                Err(e) => tracing::debug!(error = %e, "cache invalidation subscription failed"),
            }
            let Some(cache) = weak.upgrade() else { return };
            if cache.is_live() {
                tracing::warn!("cache invalidation subscription lost: copies off until it is back");
            }
            cache.go_dark();
            drop(cache);
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(RETRY_LAST);
        }
    });
}

async fn subscribe(
    source: &super::conn::PubSubSource,
    channel: &str,
    op_timeout: Duration,
) -> Result<redis::aio::PubSub, Box<dyn std::error::Error + Send + Sync>> {
    // A Cluster broadcasts PUBLISH to every node and a master's reach its replicas:
    // any node the source names hears every message.
    let client = tokio::time::timeout(op_timeout, source.client()).await??;
    let mut pubsub = tokio::time::timeout(op_timeout, client.get_async_pubsub()).await??;
    tokio::time::timeout(op_timeout, pubsub.subscribe(channel)).await??;
    Ok(pubsub)
}

/// Applies messages until the connection ends, a ping goes unanswered or the store is
/// gone.
async fn listen(weak: &Weak<ConfigCache>, pubsub: redis::aio::PubSub, op_timeout: Duration) {
    let (mut sink, mut stream) = pubsub.split();
    let mut tick = tokio::time::interval(PING_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(msg) = msg else { return };
                let Some(cache) = weak.upgrade() else { return };
                match std::str::from_utf8(msg.get_payload_bytes()).ok().and_then(Changed::decode) {
                    Some(changed) => cache.apply(&changed),
                    None => cache.clear(),
                }
            }
            _ = tick.tick() => {
                if weak.strong_count() == 0 {
                    return;
                }
                let pong = tokio::time::timeout(op_timeout, sink.ping::<redis::Value>()).await;
                if !matches!(pong, Ok(Ok(_))) {
                    return;
                }
            }
        }
    }
}
