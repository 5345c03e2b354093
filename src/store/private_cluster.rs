//! A throwaway PostgreSQL server of our own: Debian's `initdb` and `pg_ctl` in a temporary
//! folder, on a free loopback port and a socket directory of its own. The demo runs on one
//! when no server answers, and the reliability tests restart and crash one — never the
//! machine's shared server.
//!
//! `initdb` refuses to run as root, so as root every server command runs as the `postgres`
//! user, who owns the folder. The calls block (a few hundred milliseconds to start).

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Where Debian installs each major version's server binaries.
const DEBIAN_SERVER_ROOT: &str = "/usr/lib/postgresql";
/// The user that runs the server when we are root.
const SERVER_USER: &str = "postgres";
/// How long a start or stop may take before it counts as failed.
const SERVER_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL's server programs are not installed (no {DEBIAN_SERVER_ROOT}/*/bin/initdb); \
         install them with: apt-get install -y postgresql"
    )]
    NotInstalled,
    #[error("cannot prepare the private cluster's folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot find a free loopback port: {0}")]
    Port(std::io::Error),
    #[error("{what} failed: {detail}")]
    Command { what: &'static str, detail: String },
    #[error(
        "the private PostgreSQL did not accept connections on port {port} within {SERVER_TIMEOUT:?}; its log:\n{log}"
    )]
    NotReady { port: u16, log: String },
}

/// A running private PostgreSQL; dropping it stops the server and removes its folder.
#[derive(Debug)]
pub struct PrivateCluster {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
    as_server_user: bool,
    running: bool,
    /// fsync on: commits reach the disk, as on a production server (benchmarks want that;
    /// tests and the demo do not need to pay for it).
    durable: bool,
}

impl PrivateCluster {
    /// Creates and starts a fresh cluster with trust authentication, without fsync.
    pub fn start() -> Result<Self, ClusterError> {
        Self::start_with(false)
    }

    /// Like [`PrivateCluster::start`], but every commit is flushed to disk (fsync and
    /// full-page writes on, PostgreSQL's defaults): what benchmarks measure against.
    pub fn start_durable() -> Result<Self, ClusterError> {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> Result<Self, ClusterError> {
        let bin = server_binaries().ok_or(ClusterError::NotInstalled)?;
        let as_server_user = running_as_root();
        let root = std::env::temp_dir().join(format!(
            "leadbot-pg-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        let folder_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ClusterError::Folder { path, source }
        };
        std::fs::create_dir(&root).map_err(folder_error(&root))?;
        let mut cluster = Self {
            bin,
            root,
            port: free_port().map_err(ClusterError::Port)?,
            as_server_user,
            running: false,
            durable,
        };
        std::fs::create_dir(cluster.socket_dir()).map_err(folder_error(&cluster.socket_dir()))?;
        if as_server_user {
            cluster.run(
                "chown",
                Command::new("chown")
                    .arg("-R")
                    .arg(format!("{SERVER_USER}:{SERVER_USER}"))
                    .arg(&cluster.root),
            )?;
        }
        let mut initdb = cluster.server_command("initdb");
        cluster.run(
            "initdb",
            initdb
                .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
                .arg("-D")
                .arg(cluster.data_dir()),
        )?;
        cluster.start_again()?;
        Ok(cluster)
    }

    /// A URL for `database` on this server, as the `postgres` superuser.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's programs folder, which also holds its clients (`psql`, `pgbench`).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The folder that holds everything; gone once the cluster is dropped.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Starts the server on the same folder and port (after a stop or a crash).
    pub fn start_again(&mut self) -> Result<(), ClusterError> {
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {}",
            self.port,
            self.socket_dir().display()
        );
        if !self.durable {
            options.push_str(" -c fsync=off -c full_page_writes=off");
        }
        let mut pg_ctl = self.server_command("pg_ctl");
        self.run(
            "pg_ctl start",
            pg_ctl
                .arg("start")
                .arg("-w")
                .args(["-t", &SERVER_TIMEOUT.as_secs().to_string()])
                .arg("-D")
                .arg(self.data_dir())
                .arg("-l")
                .arg(self.log_file())
                .args(["-o", &options]),
        )?;
        self.running = true;
        self.wait_until_accepting()
    }

    /// An administrator's fast shutdown: sessions end with SQLSTATE 57P01.
    pub fn stop_fast(&mut self) -> Result<(), ClusterError> {
        self.stop("fast")
    }

    /// Kills the postmaster with SIGKILL, as a crash would: the next start recovers.
    pub fn crash(&mut self) -> Result<(), ClusterError> {
        let pid_file = self.data_dir().join("postmaster.pid");
        let pid_text = std::fs::read_to_string(&pid_file).unwrap_or_default();
        let pid = pid_text
            .lines()
            .next()
            .and_then(|line| line.trim().parse::<u32>().ok())
            .ok_or_else(|| ClusterError::Command {
                what: "crash",
                detail: format!("no server pid in {}", pid_file.display()),
            })?;
        // Line 7: the shared memory segment's key and id.
        let segment = pid_text
            .lines()
            .nth(6)
            .and_then(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok());
        self.run(
            "kill -9",
            Command::new("kill").args(["-9", &pid.to_string()]),
        )?;
        // The backends notice their postmaster is gone and exit. Nobody reaps them here (the
        // server was started by pg_ctl, which has exited), so dead ones linger as zombies:
        // wait until no live process remains in the server's session, then remove the lock
        // files (data folder and socket) that a zombie's pid would otherwise keep "in use".
        // A new server refuses to start while any old process is still attached to the old
        // shared memory segment, which is what is watched last (a backend asleep on a lock
        // can outlive the session check by a moment).
        let deadline = Instant::now() + SERVER_TIMEOUT;
        while Instant::now() < deadline
            && (has_live_process_in_session(pid)
                || self.port_accepts()
                || segment.is_some_and(segment_is_attached))
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        if has_live_process_in_session(pid) || segment.is_some_and(segment_is_attached) {
            return Err(ClusterError::Command {
                what: "crash",
                detail: format!("the server {pid} did not die within {SERVER_TIMEOUT:?}"),
            });
        }
        let _ = std::fs::remove_file(&pid_file);
        for entry in std::fs::read_dir(self.socket_dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = std::fs::remove_file(entry.path());
        }
        self.running = false;
        Ok(())
    }

    /// Fast shutdown, then start again on the same port.
    pub fn restart(&mut self) -> Result<(), ClusterError> {
        self.stop_fast()?;
        self.start_again()
    }

    fn stop(&mut self, mode: &str) -> Result<(), ClusterError> {
        let mut pg_ctl = self.server_command("pg_ctl");
        self.run(
            "pg_ctl stop",
            pg_ctl
                .arg("stop")
                .arg("-w")
                .args(["-m", mode])
                .arg("-D")
                .arg(self.data_dir()),
        )?;
        self.running = false;
        Ok(())
    }

    fn socket_dir(&self) -> PathBuf {
        self.root.join("socket")
    }

    fn log_file(&self) -> PathBuf {
        self.root.join("server.log")
    }

    /// A server program, run as the `postgres` user when we are root.
    fn server_command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_server_user {
            let mut command = Command::new("runuser");
            command.args(["-u", SERVER_USER, "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    fn run(&self, what: &'static str, command: &mut Command) -> Result<Output, ClusterError> {
        // The server inherits no terminal: its output goes to the log file, not ours.
        let output = command
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|error| ClusterError::Command {
                what,
                detail: error.to_string(),
            })?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(ClusterError::Command {
                what,
                detail: format!(
                    "{}: {}{}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim(),
                    self.log_tail()
                ),
            })
        }
    }

    fn wait_until_accepting(&self) -> Result<(), ClusterError> {
        let deadline = Instant::now() + SERVER_TIMEOUT;
        let address = (Ipv4Addr::LOCALHOST, self.port);
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&address.into(), Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(ClusterError::NotReady {
            port: self.port,
            log: self.log_tail(),
        })
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(10)..].join("\n");
        if tail.is_empty() {
            tail
        } else {
            format!("\n{tail}")
        }
    }

    fn port_accepts(&self) -> bool {
        let address = (Ipv4Addr::LOCALHOST, self.port);
        TcpStream::connect_timeout(&address.into(), Duration::from_millis(100)).is_ok()
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if self.running {
            let _ = self.stop("immediate");
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The newest installed major version's `bin` folder that has `initdb` and `pg_ctl`.
fn server_binaries() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_SERVER_ROOT)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((major, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Whether the server programs are installed, so a caller can decide before trying.
pub fn is_installed() -> bool {
    server_binaries().is_some()
}

/// Whether a process that is not a zombie runs in the session that `leader` leads (the
/// postmaster is a session leader; its backends are in its session).
fn has_live_process_in_session(leader: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // "pid (comm) state ppid pgrp session ...": comm may hold spaces, so split after ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        matches!(fields.as_slice(), [state, _ppid, _pgrp, session, ..]
            if *state != "Z" && *state != "X" && session.parse() == Ok(leader))
    })
}

/// Whether any process is still attached to System V shared memory segment `shmid` (the
/// `nattch` column of /proc/sysvipc/shm).
fn segment_is_attached(shmid: u64) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/sysvipc/shm") else {
        return false;
    };
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        matches!(fields.as_slice(), [_key, id, _perms, _size, _cpid, _lpid, nattch, ..]
            if id.parse() == Ok(shmid) && *nattch != "0")
    })
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
