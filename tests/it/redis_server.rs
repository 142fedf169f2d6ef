//! A throwaway `redis-server` for tests: a free loopback port, no persistence, a
//! temporary directory; killed on drop. It can be stopped and started again on the same
//! port, for fault tests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// TLS port, certificate and key, when started with TLS.
    tls: Option<(u16, PathBuf, PathBuf)>,
    /// Persistence as docker-compose.yml sets it up (AOF), instead of none.
    durable: bool,
}

/// docker-compose.yml's `redis-server` persistence and memory settings.
pub const COMPOSE_ARGS: &[&str] = &[
    "--appendonly",
    "yes",
    "--appendfsync",
    "everysec",
    "--maxmemory-policy",
    "noeviction",
];

impl RedisServer {
    /// Starts a server on a free port and waits until it answers PING.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut server = Self {
            port: 0,
            dir,
            child: None,
            tls: None,
            durable: false,
        };
        server.first_start();
        server
    }

    /// Starts a server with docker-compose.yml's persistence ([`COMPOSE_ARGS`]): a
    /// [`RedisServer::restart`] after a kill finds what it had acknowledged.
    pub fn start_durable() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut server = Self {
            port: 0,
            dir,
            child: None,
            tls: None,
            durable: true,
        };
        server.first_start();
        server
    }

    fn first_start(&mut self) {
        // Another process may take the port between our probe and redis binding it:
        // try a few ports before giving up.
        for _ in 0..5 {
            self.port = free_port();
            if self.spawn_and_wait() {
                return;
            }
        }
        panic!("redis-server did not start (is it installed? apt-get install redis-server)");
    }

    /// Starts a server that also listens with TLS (`cert`, `key`: PEM files); the
    /// plain port stays open for the readiness probe.
    pub fn start_tls(cert: &Path, key: &Path) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut server = Self {
            port: 0,
            dir,
            child: None,
            tls: None,
            durable: false,
        };
        for _ in 0..5 {
            server.port = free_port();
            server.tls = Some((free_port(), cert.to_path_buf(), key.to_path_buf()));
            if server.spawn_and_wait() {
                return server;
            }
        }
        panic!("redis-server did not start with TLS");
    }

    /// `rediss://127.0.0.1:PORT/0` of a server started with [`RedisServer::start_tls`].
    pub fn tls_url(&self) -> String {
        let (port, _, _) = self.tls.as_ref().expect("started with TLS");
        format!("rediss://127.0.0.1:{port}/0")
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server (as a crash would) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Writes the dataset to disk (`SAVE`), so that [`RedisServer::restart`] finds it
    /// again: stands in for the AOF a production Redis keeps.
    pub fn persist(&self) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.write_all(b"SAVE\r\n").expect("SAVE");
        let mut buf = [0u8; 5];
        stream.read_exact(&mut buf).expect("SAVE reply");
        assert_eq!(&buf, b"+OK\r\n", "SAVE failed");
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing answers, as
    /// with a hung Redis or a network partition.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        // The shell's built-in `kill`: no dependency on a separate package.
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("kill {sig} {pid}"))
            .status()
            .expect("sh");
        assert!(status.success(), "kill {sig} {pid}");
    }

    /// Starts the server again on the same port (empty unless [`RedisServer::persist`]
    /// ran before).
    pub fn restart(&mut self) {
        self.stop();
        assert!(
            self.spawn_and_wait(),
            "redis-server did not restart on port {}",
            self.port
        );
    }

    fn spawn_and_wait(&mut self) -> bool {
        let mut cmd = Command::new("redis-server");
        if let Some((port, cert, key)) = &self.tls {
            cmd.args(["--tls-port", &port.to_string(), "--tls-auth-clients", "no"])
                .arg("--tls-cert-file")
                .arg(cert)
                .arg("--tls-key-file")
                .arg(key);
        }
        let spawned = cmd
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(if self.durable {
                COMPOSE_ARGS
            } else {
                &["--save", "", "--appendonly", "no"]
            })
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                panic!("cannot run redis-server ({e}); install it: apt-get install redis-server")
            }
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return false; // exited: most likely the port was taken
            }
            if ping(self.port) {
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind probe");
    listener.local_addr().expect("probe address").port()
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    stream.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}
