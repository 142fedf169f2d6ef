//! The connection under the Redis store: one node (`redis://`), a Cluster
//! (`redis+cluster://h1:p1,h2:p2`) or a master found through Sentinel
//! (`redis+sentinel://s1:p1,s2:p2/MASTER`). [`Conn`] implements the crate's async
//! `ConnectionLike`, so the store's commands and scripts run unchanged on all three.
//!
//! The URL forms are documented in docs/redis.md. URLs may hold a password: no error
//! here quotes them.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use redis::{Cmd, ErrorKind, IntoConnectionInfo, RedisError, RedisFuture, RedisResult, Value};

/// Where the store connects, parsed from a `POOLGATE_STORE` URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// `redis://` or `rediss://`: the URL as given.
    Single(String),
    /// One `redis[s]://[userinfo@]host:port` URL per seed node.
    Cluster(Vec<String>),
    Sentinel {
        /// One `redis[s]://host:port` URL per sentinel.
        sentinels: Vec<String>,
        master: String,
        /// `redis[s]://[userinfo@]first-host/DB`: carries the data nodes' credentials,
        /// database and TLS mode (its host is not used).
        data: String,
        tls: bool,
        /// Replicas that must hold a write before it is acknowledged (`WAIT`).
        replicas: u32,
    },
}

// The URLs hold passwords: never print them.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Single(_) => f.write_str("Single"),
            Target::Cluster(nodes) => write!(f, "Cluster({} seed nodes)", nodes.len()),
            Target::Sentinel {
                sentinels, master, ..
            } => write!(
                f,
                "Sentinel({} sentinels, master {master})",
                sentinels.len()
            ),
        }
    }
}

/// Parses a Redis store URL. The error names what is wrong, never the URL.
pub(crate) fn parse(url: &str) -> Result<Target, &'static str> {
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        return Ok(Target::Single(url.to_owned()));
    }
    let (tls, cluster, rest) = if let Some(r) = url.strip_prefix("redis+cluster://") {
        (false, true, r)
    } else if let Some(r) = url.strip_prefix("rediss+cluster://") {
        (true, true, r)
    } else if let Some(r) = url.strip_prefix("redis+sentinel://") {
        (false, false, r)
    } else if let Some(r) = url.strip_prefix("rediss+sentinel://") {
        (true, false, r)
    } else {
        return Err("unknown redis URL scheme");
    };
    let scheme = if tls { "rediss" } else { "redis" };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    // The userinfo ends at the last '@' (a password may hold '@' percent-encoded only,
    // but be lenient); hosts hold none.
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let hosts: Vec<&str> = hosts.split(',').map(str::trim).collect();
    if hosts
        .iter()
        .any(|h| h.is_empty() || h.contains(['/', '?', '#']))
    {
        return Err("empty or malformed host in the redis URL");
    }
    let auth = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    if cluster {
        // A Cluster has only database 0.
        if !matches!(path, "" | "0") {
            return Err("a redis+cluster URL takes no path (Cluster has only database 0)");
        }
        let nodes = hosts
            .iter()
            .map(|h| format!("{scheme}://{auth}{h}/"))
            .collect();
        return Ok(Target::Cluster(nodes));
    }
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let replicas = match query.strip_prefix("replicas=") {
        None if query.is_empty() => 1,
        Some(n) => n
            .parse::<u32>()
            .map_err(|_| "replicas= in a redis+sentinel URL is a number")?,
        None => return Err("a redis+sentinel URL takes only ?replicas=N"),
    };
    let (master, db) = path.split_once('/').unwrap_or((path, "0"));
    if master.is_empty() {
        return Err("a redis+sentinel URL names the master: redis+sentinel://HOSTS/MASTER");
    }
    if db.parse::<u16>().is_err() {
        return Err("the database of a redis+sentinel URL is a number");
    }
    let sentinels = hosts.iter().map(|h| format!("{scheme}://{h}/")).collect();
    Ok(Target::Sentinel {
        sentinels,
        master: master.to_owned(),
        data: format!("{scheme}://{auth}{}/{db}", hosts[0]),
        tls,
        replicas,
    })
}

/// The store's connection: cheap to clone, clones share the underlying connection(s).
#[derive(Clone)]
pub(crate) enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(SentinelConn),
}

/// Where the cache invalidation subscription connects ([`super::invalidate`]): any
/// node hears every message (a Cluster broadcasts PUBLISH; replicas get their master's).
#[derive(Clone)]
pub(crate) enum PubSubSource {
    Single(Box<redis::Client>),
    /// The seed nodes, tried in turn.
    Cluster(Arc<Vec<String>>, Arc<AtomicUsize>),
    /// The master the sentinels name now.
    Sentinel(Arc<SentinelShared>),
}

impl PubSubSource {
    pub(crate) async fn client(&self) -> RedisResult<redis::Client> {
        match self {
            PubSubSource::Single(c) => Ok((**c).clone()),
            PubSubSource::Cluster(nodes, next) => {
                let i = next.fetch_add(1, Ordering::Relaxed) % nodes.len().max(1);
                match nodes.get(i) {
                    Some(url) => redis::Client::open(url.as_str()),
                    None => Err(RedisError::from((
                        ErrorKind::InvalidClientConfig,
                        "no cluster node",
                    ))),
                }
            }
            PubSubSource::Sentinel(shared) => {
                let mut sentinel = shared.sentinel.lock().await;
                sentinel
                    .async_master_for(&shared.master, Some(&shared.node))
                    .await
            }
        }
    }
}

impl Conn {
    /// Connects to `target`; every attempt and answer is bounded by `op_timeout`.
    /// Returns the connection, where invalidations are heard, and the database number.
    pub(crate) async fn open(
        target: &Target,
        op_timeout: Duration,
    ) -> RedisResult<(Self, PubSubSource, i64)> {
        match target {
            Target::Single(url) => {
                let client = redis::Client::open(url.as_str())?;
                let db = client.get_connection_info().redis_settings().db();
                let conn =
                    ConnectionManager::new_with_config(client.clone(), manager_config(op_timeout))
                        .await?;
                Ok((
                    Conn::Single(conn),
                    PubSubSource::Single(Box::new(client)),
                    db,
                ))
            }
            Target::Cluster(nodes) => {
                // Few quick retries: a failover takes about the node timeout, and the
                // caller's bound turns a longer wait into `Unavailable`.
                let client = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                    .connection_timeout(op_timeout)
                    .response_timeout(op_timeout)
                    .retries(6)
                    .min_retry_wait(20)
                    .max_retry_wait(400)
                    .build()?;
                let conn = Conn::Cluster(client.get_async_connection().await?);
                let source =
                    PubSubSource::Cluster(Arc::new(nodes.clone()), Arc::new(AtomicUsize::new(0)));
                Ok((conn, source, 0))
            }
            Target::Sentinel {
                sentinels,
                master,
                data,
                tls,
                replicas,
            } => {
                let (conn, db) =
                    SentinelConn::open(sentinels, master, data, *tls, *replicas, op_timeout)
                        .await?;
                let source = PubSubSource::Sentinel(Arc::clone(&conn.shared));
                Ok((Conn::Sentinel(conn), source, db))
            }
        }
    }

    /// Runs `cmd` on the node that owns `key`'s slot (a `SCAN` over one pool's keys);
    /// on one node or a Sentinel master, as any command.
    pub(crate) async fn query_on_node_of(&mut self, cmd: &Cmd, key: &str) -> RedisResult<Value> {
        match self {
            Conn::Cluster(c) => {
                let route = Route::with_key(key.as_bytes(), SlotAddr::Master);
                c.route_command(
                    cmd.clone(),
                    RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route)),
                )
                .await
            }
            other => other.req_packed_command(cmd).await,
        }
    }

    /// A command timed out above this layer: a Sentinel connection looks for a new
    /// master (a hung or partitioned one is what a failover replaces).
    pub(crate) fn timed_out(&self) {
        if let Conn::Sentinel(s) = self {
            s.rediscover();
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
            Conn::Sentinel(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Sentinel(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
            Conn::Sentinel(c) => c.get_db(),
        }
    }
}

/// Reconnection of a single-node connection: a few quick attempts per outage
/// detection; a command arriving after they failed starts a new round, so service
/// resumes once Redis is back.
fn manager_config(op_timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(op_timeout))
        .set_response_timeout(Some(op_timeout))
        .set_number_of_retries(3)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

/// The master a set of sentinels names, reconnected when it changes: any failed command
/// (refused, dropped, `READONLY` from a demoted master, a timeout) makes one background
/// task ask the sentinels again and, when they name another master, swap the
/// connection. Commands in flight meanwhile fail (the store answers `Unavailable`).
///
/// Replication is asynchronous: a write the master answered may not have reached the
/// replica the sentinels promote. So every write is followed by `WAIT replicas`, and a
/// write that no replica confirmed in time fails (outcome unknown) instead of being
/// acknowledged: what the store acknowledges survives a failover.
#[derive(Clone)]
pub(crate) struct SentinelConn {
    shared: Arc<SentinelShared>,
    /// This clone's connection, taken from `shared.current` when the clone was made.
    conn: ConnectionManager,
}

pub(crate) struct SentinelShared {
    sentinel: tokio::sync::Mutex<Sentinel>,
    master: String,
    node: SentinelNodeConnectionInfo,
    op_timeout: Duration,
    /// The master's address and a connection to it.
    current: RwLock<(String, ConnectionManager)>,
    /// A rediscovery is running: at most one at a time.
    busy: AtomicBool,
    /// Replicas that must confirm each write (0: none).
    replicas: u32,
}

impl SentinelConn {
    async fn open(
        sentinels: &[String],
        master: &str,
        data: &str,
        tls: bool,
        replicas: u32,
        op_timeout: Duration,
    ) -> RedisResult<(Self, i64)> {
        let settings = data.into_connection_info()?.redis_settings().clone();
        let db = settings.db();
        let mut node = SentinelNodeConnectionInfo::default().set_redis_connection_info(settings);
        if tls {
            node = node.set_tls_mode(redis::TlsMode::Secure);
        }
        let mut sentinel = Sentinel::build(sentinels.iter().map(String::as_str).collect())?;
        let (addr, conn) = connect_master(&mut sentinel, master, &node, op_timeout).await?;
        let conn = Self {
            shared: Arc::new(SentinelShared {
                sentinel: tokio::sync::Mutex::new(sentinel),
                master: master.to_owned(),
                node,
                op_timeout,
                current: RwLock::new((addr, conn.clone())),
                busy: AtomicBool::new(false),
                replicas,
            }),
            conn,
        };
        Ok((conn, db))
    }

    /// The connection to the master as last discovered.
    fn current(&self) -> ConnectionManager {
        let guard = self
            .shared
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.1.clone()
    }

    /// Starts one background rediscovery unless one is running.
    fn rediscover(&self) {
        if self.shared.busy.swap(true, Ordering::AcqRel) {
            return;
        }
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            let result = shared.rediscover_once().await;
            shared.busy.store(false, Ordering::Release);
            match result {
                Ok(true) => tracing::warn!(master = %shared.master, "redis sentinel: new master"),
                Ok(false) => {}
                Err(e) => tracing::warn!(
                    master = %shared.master,
                    error_kind = ?e.kind(),
                    "redis sentinel: master lookup failed"
                ),
            }
        });
    }

    async fn run<T>(
        &mut self,
        writes: bool,
        f: impl AsyncFnOnce(&mut ConnectionManager) -> RedisResult<T>,
    ) -> RedisResult<T> {
        // A clone made before a swap still holds the old master: use the current one.
        self.conn = self.current();
        let mut result = f(&mut self.conn).await;
        if result.is_ok()
            && writes
            && self.shared.replicas > 0
            && let Err(e) = self.wait_replicated().await
        {
            result = Err(e);
        }
        if let Err(e) = &result
            && needs_rediscovery(e)
        {
            self.rediscover();
        }
        result
    }

    /// `WAIT`s until the configured number of replicas hold every write made on this
    /// connection so far; fails when fewer confirm within a quarter of the command bound.
    async fn wait_replicated(&mut self) -> RedisResult<()> {
        let wait_ms = u64::try_from(self.shared.op_timeout.as_millis() / 4)
            .unwrap_or(500)
            .max(1);
        let confirmed: u32 = redis::cmd("WAIT")
            .arg(self.shared.replicas)
            .arg(wait_ms)
            .query_async(&mut self.conn)
            .await?;
        if confirmed >= self.shared.replicas {
            Ok(())
        } else {
            Err(RedisError::from((
                ErrorKind::Io,
                "write not confirmed by the replicas in time (outcome unknown)",
            )))
        }
    }
}

impl SentinelShared {
    /// Asks the sentinels for the master; swaps the connection when it moved. Returns
    /// whether it did.
    async fn rediscover_once(&self) -> RedisResult<bool> {
        let mut sentinel = self.sentinel.lock().await;
        let client = tokio::time::timeout(
            self.op_timeout,
            sentinel.async_master_for(&self.master, Some(&self.node)),
        )
        .await
        .map_err(|_| timeout_error())??;
        let addr = client.get_connection_info().addr().to_string();
        let known = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .clone();
        if addr == known {
            return Ok(false);
        }
        let conn = tokio::time::timeout(
            self.op_timeout,
            ConnectionManager::new_with_config(client, manager_config(self.op_timeout)),
        )
        .await
        .map_err(|_| timeout_error())??;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (addr, conn);
        Ok(true)
    }
}

async fn connect_master(
    sentinel: &mut Sentinel,
    master: &str,
    node: &SentinelNodeConnectionInfo,
    op_timeout: Duration,
) -> RedisResult<(String, ConnectionManager)> {
    let client = sentinel.async_master_for(master, Some(node)).await?;
    let addr = client.get_connection_info().addr().to_string();
    let conn = ConnectionManager::new_with_config(client, manager_config(op_timeout)).await?;
    Ok((addr, conn))
}

fn timeout_error() -> RedisError {
    RedisError::from((ErrorKind::Io, "redis sentinel lookup timed out"))
}

/// Whether an error may mean the master moved: anything but a script that must be
/// loaded (normal on a new master) or a reply of the wrong shape.
fn needs_rediscovery(e: &RedisError) -> bool {
    !matches!(
        e.kind(),
        ErrorKind::Server(redis::ServerErrorKind::NoScript)
            | ErrorKind::UnexpectedReturnType
            | ErrorKind::Parse
    )
}

/// The commands of the store that change no data; anything else (scripts included) is
/// taken as a write and waits for the replicas.
fn is_read(cmd: &Cmd) -> bool {
    const READS: [&[u8]; 16] = [
        b"GET",
        b"MGET",
        b"HGET",
        b"HMGET",
        b"HVALS",
        b"HGETALL",
        b"HEXISTS",
        b"SMEMBERS",
        b"SCARD",
        b"ZSCORE",
        b"ZRANGEBYSCORE",
        b"ZCARD",
        b"SCAN",
        b"PING",
        b"EXISTS",
        b"PUBLISH",
    ];
    match cmd.args_iter().next() {
        Some(redis::Arg::Simple(name)) => READS.iter().any(|r| name.eq_ignore_ascii_case(r)),
        _ => false,
    }
}

impl ConnectionLike for SentinelConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let writes = !is_read(cmd);
        Box::pin(self.run(writes, async |c| c.req_packed_command(cmd).await))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let writes = !cmd.cmd_iter().all(is_read);
        Box::pin(self.run(writes, async move |c| {
            c.req_packed_commands(cmd, offset, count).await
        }))
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_node_urls_pass_through() {
        let t = parse("redis://:pw@127.0.0.1:6379/2").unwrap();
        assert_eq!(t, Target::Single("redis://:pw@127.0.0.1:6379/2".into()));
    }

    #[test]
    fn cluster_urls_list_seed_nodes() {
        let t = parse("rediss+cluster://u:p%40w@a:7000,b:7001, c:7002").unwrap();
        assert_eq!(
            t,
            Target::Cluster(vec![
                "rediss://u:p%40w@a:7000/".into(),
                "rediss://u:p%40w@b:7001/".into(),
                "rediss://u:p%40w@c:7002/".into(),
            ])
        );
        assert!(format!("{t:?}").contains("3 seed nodes"));
        assert!(!format!("{t:?}").contains("p%40w"));
        assert!(parse("redis+cluster://a:1/3").is_err());
        assert!(parse("redis+cluster://a:1,,b:2").is_err());
    }

    #[test]
    fn sentinel_urls_name_the_master() {
        let t = parse("redis+sentinel://:secret@s1:26379,s2:26380/mymaster/3").unwrap();
        assert_eq!(
            t,
            Target::Sentinel {
                sentinels: vec!["redis://s1:26379/".into(), "redis://s2:26380/".into()],
                master: "mymaster".into(),
                data: "redis://:secret@s1:26379/3".into(),
                tls: false,
                replicas: 1,
            }
        );
        let t = parse("redis+sentinel://s1:1/m?replicas=0").unwrap();
        assert!(matches!(t, Target::Sentinel { replicas: 0, ref master, .. } if master == "m"));
        assert!(parse("redis+sentinel://s1:1/m?replicas=x").is_err());
        assert!(parse("redis+sentinel://s1:1/m?other=1").is_err());
        assert!(!format!("{t:?}").contains("secret"));
        assert!(parse("redis+sentinel://s1:26379").is_err());
        assert!(parse("redis+sentinel://s1:26379/m/x").is_err());
        assert!(parse("mysql://x").is_err());
    }
}
