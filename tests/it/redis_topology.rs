//! Throwaway Redis topologies for tests, from Debian's `redis-server` on loopback: a
//! Cluster of three masters with one replica each, and a master with one replica
//! watched by three sentinels (`redis-server --sentinel`). Each can fail over a master.
//! Every process is killed on drop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `redis-server` process on a loopback port.
struct Node {
    port: u16,
    child: Option<Child>,
}

impl Node {
    /// Starts `redis-server` with `args` (a config file first, when given) and waits
    /// until it answers PING.
    fn spawn(port: u16, args: &[String]) -> Self {
        let child = Command::new("redis-server")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run redis-server ({e}): apt-get install redis-server")
            });
        let node = Self {
            port,
            child: Some(child),
        };
        wait_until(Duration::from_secs(10), || cli(port, &["PING"]) == "PONG");
        node
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Kills `nodes` once this test process is gone: for topologies shared by the tests of
/// one run (kept in a `static`, hence never dropped).
fn kill_with_this_process(nodes: &[&Node]) {
    let pids: Vec<String> = nodes
        .iter()
        .filter_map(|n| n.child.as_ref().map(|c| c.id().to_string()))
        .collect();
    let me = std::process::id();
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; kill {} 2>/dev/null",
        pids.join(" ")
    );
    // Never waited on: it outlives this process by design (init reaps it).
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("watchdog");
}

/// One Cluster for every test of this run that only needs a Cluster (its contracts
/// work in fresh pools); stopped when the run ends.
pub fn shared_cluster() -> &'static RedisCluster {
    static SHARED: std::sync::OnceLock<RedisCluster> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let cluster = RedisCluster::start();
        kill_with_this_process(&cluster.nodes.iter().collect::<Vec<_>>());
        cluster
    })
}

/// One Sentinel set for every test of this run that only needs one; stopped when the
/// run ends.
pub fn shared_sentinels() -> &'static RedisSentinels {
    static SHARED: std::sync::OnceLock<RedisSentinels> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let set = RedisSentinels::start();
        kill_with_this_process(&set.data.iter().chain(&set.sentinels).collect::<Vec<_>>());
        set
    })
}

/// Runs `redis-cli -p PORT ARGS...` and returns its trimmed output ("" when it fails).
pub fn cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Polls `ready` every 50 ms until it holds; panics after `limit`.
fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "redis topology not ready in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind probe");
    listener.local_addr().expect("probe address").port()
}

fn base_args(port: u16, dir: &Path) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        &dir.to_string_lossy(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// A line of `CLUSTER NODES`: port, id, is master, master id, slot ranges.
type ClusterNode = (u16, String, bool, String, Vec<(u16, u16)>);

/// Three masters and three replicas.
pub struct RedisCluster {
    nodes: Vec<Node>,
    _dir: tempfile::TempDir,
}

impl RedisCluster {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut nodes = Vec::new();
        for i in 0..6 {
            let (port, bus) = (free_port(), free_port());
            let node_dir = dir.path().join(format!("n{i}"));
            std::fs::create_dir_all(&node_dir).expect("node dir");
            let mut args = base_args(port, &node_dir);
            args.extend(
                [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-port",
                    &bus.to_string(),
                    "--cluster-node-timeout",
                    "1000",
                ]
                .map(str::to_owned),
            );
            nodes.push(Node::spawn(port, &args));
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli --cluster create");
        assert!(
            out.status.success(),
            "cluster create: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Self { nodes, _dir: dir };
        cluster.wait_healthy();
        cluster
    }

    /// `redis+cluster://` with the three first nodes as seeds.
    pub fn url(&self) -> String {
        let seeds: Vec<String> = self.nodes[..3]
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://{}", seeds.join(","))
    }

    fn live_ports(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| n.port)
            .collect()
    }

    /// Every live node sees the cluster as ok, with three masters each followed by an
    /// in-sync replica while all six run.
    fn wait_healthy(&self) {
        wait_until(Duration::from_secs(30), || {
            self.live_ports().iter().all(|p| {
                cli(*p, &["CLUSTER", "INFO"]).contains("cluster_state:ok")
                    && (cli(*p, &["ROLE"]).starts_with("master")
                        || cli(*p, &["INFO", "replication"]).contains("master_link_status:up"))
            })
        });
    }

    /// `CLUSTER NODES` lines as (port, id, is master, master id, slot ranges).
    fn topology(&self) -> Vec<ClusterNode> {
        let port = self.live_ports()[0];
        cli(port, &["CLUSTER", "NODES"])
            .lines()
            .filter_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                let port: u16 = f.get(1)?.split(['@', ':']).nth(1)?.parse().ok()?;
                let flags = *f.get(2)?;
                if flags.contains("fail") {
                    return None;
                }
                let slots = f[8..]
                    .iter()
                    .filter_map(|r| {
                        let (a, b) = r.split_once('-').unwrap_or((r, r));
                        Some((a.parse().ok()?, b.parse().ok()?))
                    })
                    .collect();
                Some((
                    port,
                    f[0].to_owned(),
                    flags.contains("master"),
                    f[3].to_owned(),
                    slots,
                ))
            })
            .collect()
    }

    /// The port of the master owning `key`'s slot, and of its replica.
    pub fn master_and_replica_of(&self, key: &str) -> (u16, u16) {
        let port = self.live_ports()[0];
        let slot: u16 = cli(port, &["CLUSTER", "KEYSLOT", key])
            .parse()
            .expect("keyslot");
        let topo = self.topology();
        let master = topo
            .iter()
            .find(|n| n.2 && n.4.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
            .expect("a master owns the slot");
        let replica = topo
            .iter()
            .find(|n| !n.2 && n.3 == master.1)
            .expect("the master has a replica");
        (master.0, replica.0)
    }

    /// A graceful manual failover (`CLUSTER FAILOVER` on the replica of the master that
    /// owns `key`): returns once the replica is master and the cluster is ok again.
    pub fn failover(&self, key: &str) {
        let (_, replica) = self.master_and_replica_of(key);
        assert_eq!(cli(replica, &["CLUSTER", "FAILOVER"]), "OK");
        wait_until(Duration::from_secs(30), || {
            cli(replica, &["ROLE"]).starts_with("master")
        });
        self.wait_healthy();
    }
}

/// A master and its replica, watched by three sentinels under the name `poolgate`.
pub struct RedisSentinels {
    data: Vec<Node>,
    sentinels: Vec<Node>,
    _dir: tempfile::TempDir,
}

pub const MASTER_NAME: &str = "poolgate";

impl RedisSentinels {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut data = Vec::new();
        let master_port = free_port();
        for i in 0..2 {
            let port = if i == 0 { master_port } else { free_port() };
            let node_dir = dir.path().join(format!("d{i}"));
            std::fs::create_dir_all(&node_dir).expect("node dir");
            let mut args = base_args(port, &node_dir);
            if i > 0 {
                args.extend([
                    "--replicaof".into(),
                    "127.0.0.1".into(),
                    master_port.to_string(),
                ]);
            }
            data.push(Node::spawn(port, &args));
        }
        let mut sentinels = Vec::new();
        for i in 0..3 {
            let port = free_port();
            let conf = dir.path().join(format!("sentinel{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {}\n\
                     sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
                     sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                     sentinel failover-timeout {MASTER_NAME} 10000\n",
                    dir.path().display()
                ),
            )
            .expect("sentinel config");
            let args = vec![conf.to_string_lossy().into_owned(), "--sentinel".into()];
            sentinels.push(Node::spawn(port, &args));
        }
        let set = Self {
            data,
            sentinels,
            _dir: dir,
        };
        // Ready when the replica is in sync and every sentinel knows the replica and
        // the two other sentinels (a failover needs them).
        wait_until(Duration::from_secs(30), || {
            set.data[1..]
                .iter()
                .all(|d| cli(d.port, &["INFO", "replication"]).contains("master_link_status:up"))
                && set.sentinels.iter().all(|s| {
                    cli(s.port, &["SENTINEL", "REPLICAS", MASTER_NAME]).contains("slave")
                        && cli(s.port, &["SENTINEL", "SENTINELS", MASTER_NAME])
                            .matches("name")
                            .count()
                            == 2
                })
        });
        set
    }

    /// `redis+sentinel://S1,S2,S3/poolgate`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+sentinel://{}/{MASTER_NAME}", hosts.join(","))
    }

    /// The master's port as the first sentinel names it.
    pub fn master_port(&self) -> u16 {
        let out = cli(
            self.sentinels[0].port,
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME],
        );
        out.lines()
            .nth(1)
            .and_then(|p| p.trim().parse().ok())
            .expect("master port")
    }

    /// `SENTINEL FAILOVER`: returns once every sentinel names the former replica and
    /// the former master replicates from it. The sentinels demote the former master
    /// themselves only after about fifteen seconds; the test does what they would do
    /// (`REPLICAOF`) as soon as they agree, so that the new master has a replica to
    /// confirm writes sooner.
    pub fn failover(&self) {
        let old = self.master_port();
        let new = self
            .data
            .iter()
            .map(|n| n.port)
            .find(|p| *p != old)
            .expect("a replica");
        assert_eq!(
            cli(
                self.sentinels[0].port,
                &["SENTINEL", "FAILOVER", MASTER_NAME]
            ),
            "OK"
        );
        wait_until(Duration::from_secs(30), || {
            self.sentinels.iter().all(|s| {
                cli(
                    s.port,
                    &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME],
                )
                .ends_with(&new.to_string())
            })
        });
        cli(old, &["REPLICAOF", "127.0.0.1", &new.to_string()]);
        wait_until(Duration::from_secs(30), || {
            cli(old, &["INFO", "replication"]).contains("master_link_status:up")
        });
    }
}
