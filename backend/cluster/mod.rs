//! The embedded PostgreSQL default: with no database URL, Beacon runs a private
//! cluster from the machine's PostgreSQL server binaries.
//!
//! Layout of a data directory (`--data-dir`, `./.beacon` by default):
//!
//! ```text
//! postgres/        the cluster (initdb), owned by the user PostgreSQL runs as
//! run/             its Unix socket; it listens on no TCP port
//! users/<pid>-<n>  one file per Beacon process using the cluster
//! watchdog.pid     the process that stops the cluster after a crash
//! cluster.lock     serializes start, join and stop between Beacon processes
//! postgres.log     the server log
//! ```
//!
//! Sharing: every Beacon process registers itself in `users/`. The first one
//! starts the cluster, later ones join it, and whoever leaves last stops it.
//! A process that dies without leaving (SIGKILL, a crash, a test binary that
//! just exits) is noticed by a small watchdog shell process, which removes its
//! entry and stops the cluster once no live process is left.

mod binaries;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use binaries::{PgBinaries, find_binaries, pgbench_binary};

/// Name of the superuser role and of the application database in the cluster.
pub const DATABASE_USER: &str = "beacon";

/// Distinguishes several joins by one process (tests do that).
static NEXT_REGISTRATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Longest path the kernel accepts for a Unix socket (`sun_path` less its NUL).
const MAX_SOCKET_PATH: usize = 103;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found.\n\
         Beacon runs its own private PostgreSQL when no database URL is given, and needs them for that.\n\
         Install the PostgreSQL server package:\n\
         \x20 Debian/Ubuntu:  apt-get install postgresql\n\
         \x20 Fedora/RHEL:    dnf install postgresql-server\n\
         \x20 Arch:           pacman -S postgresql\n\
         \x20 macOS Homebrew: brew install postgresql@16\n\
         or point Beacon at an existing server: DATABASE_URL=postgres://user@host/db (or --database-url).\n\
         Looked in: {searched}"
    )]
    MissingBinaries { searched: String },
    #[error(
        "Beacon runs as root, and PostgreSQL refuses to. It runs the embedded cluster as the \
         `postgres` system user, which does not exist on this machine. Install the PostgreSQL \
         server package (it creates that user), run Beacon as an ordinary user, or set DATABASE_URL."
    )]
    NoPostgresUser,
    #[error(
        "the data directory {path} is not reachable by the `postgres` system user, which runs the \
         embedded cluster when Beacon runs as root. Choose a --data-dir whose parent directories \
         are traversable by others (e.g. /var/lib/beacon), or run Beacon as an ordinary user."
    )]
    Unreachable { path: PathBuf },
    #[error(
        "the socket path {path} is longer than the {MAX_SOCKET_PATH} bytes Unix sockets allow; choose a shorter --data-dir"
    )]
    SocketPathTooLong { path: PathBuf },
    #[error("the data directory path {path} must not contain a quote character")]
    UnsupportedPath { path: PathBuf },
    #[error("{action} failed: {detail}")]
    Command { action: String, detail: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let context = context.into();
    move |source| ClusterError::Io { context, source }
}

/// How the cluster is set up when it is first created.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClusterOptions {
    /// Throwaway cluster (tests): durability is switched off for speed and the
    /// whole directory is removed when the cluster stops.
    pub ephemeral: bool,
}

/// The account PostgreSQL runs as when Beacon itself runs as root.
#[derive(Debug, Clone)]
struct ServerAccount {
    uid: nix::unistd::Uid,
    gid: nix::unistd::Gid,
}

/// Paths inside a data directory.
#[derive(Debug, Clone)]
struct Layout {
    root: PathBuf,
}

impl Layout {
    fn cluster(&self) -> PathBuf {
        self.root.join("postgres")
    }
    fn socket_dir(&self) -> PathBuf {
        self.root.join("run")
    }
    fn users(&self) -> PathBuf {
        self.root.join("users")
    }
    fn log(&self) -> PathBuf {
        self.root.join("postgres.log")
    }
    fn lock(&self) -> PathBuf {
        self.root.join("cluster.lock")
    }
    fn watchdog_pid(&self) -> PathBuf {
        self.root.join("watchdog.pid")
    }
    fn ephemeral_marker(&self) -> PathBuf {
        self.root.join("ephemeral")
    }
}

/// A running embedded cluster, joined by this process. Dropping it leaves the
/// cluster, stopping it when this was the last process using it.
#[derive(Debug)]
pub struct EmbeddedCluster {
    layout: Layout,
    binaries: PgBinaries,
    account: Option<ServerAccount>,
    registration: PathBuf,
    left: bool,
}

impl EmbeddedCluster {
    /// Starts the cluster in `data_dir` (creating it on first use) or joins the
    /// one already running there. Blocking: call it from a blocking context.
    pub fn start_or_join(data_dir: &Path, options: ClusterOptions) -> Result<Self, ClusterError> {
        let binaries = find_binaries()?;
        let account = server_account()?;
        fs::create_dir_all(data_dir).map_err(io_error(format!(
            "creating data directory {}",
            data_dir.display()
        )))?;
        let root = data_dir
            .canonicalize()
            .map_err(io_error(format!("resolving {}", data_dir.display())))?;
        if root.to_string_lossy().contains(['\'', '"']) {
            return Err(ClusterError::UnsupportedPath { path: root });
        }
        let layout = Layout { root };
        let socket = layout.socket_dir().join(".s.PGSQL.5432");
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(ClusterError::SocketPathTooLong { path: socket });
        }

        let _guard = lock_exclusive(&layout.lock())?;
        prepare_directories(&layout, account.as_ref(), options)?;
        let registration = layout.users().join(format!(
            "{}-{}",
            std::process::id(),
            NEXT_REGISTRATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        File::create(&registration).map_err(io_error("registering with the cluster"))?;
        let cluster = EmbeddedCluster {
            layout,
            binaries,
            account,
            registration,
            left: false,
        };
        if !cluster.cluster_initialized() {
            cluster.initdb(options)?;
        }
        if !cluster.is_running()? {
            cluster.remove_stale_pid_file();
            cluster.pg_ctl_start()?;
        }
        cluster.ensure_watchdog()?;
        Ok(cluster)
    }

    /// Connection URL for `database` on this cluster (over its Unix socket).
    pub fn database_url(&self, database: &str) -> String {
        format!(
            "postgres://{DATABASE_USER}@localhost/{database}?host={}",
            self.layout.socket_dir().display()
        )
    }

    pub fn data_dir(&self) -> &Path {
        &self.layout.root
    }

    /// Leaves the cluster; stops it when no other live process uses it.
    pub fn leave(mut self) -> Result<(), ClusterError> {
        self.leave_inner()
    }

    fn leave_inner(&mut self) -> Result<(), ClusterError> {
        if self.left {
            return Ok(());
        }
        self.left = true;
        let _guard = lock_exclusive(&self.layout.lock())?;
        let _ = fs::remove_file(&self.registration);
        if live_users(&self.layout.users())? == 0 && self.is_running()? {
            tracing::info!("last user left; stopping the embedded PostgreSQL cluster");
            self.pg_ctl(
                &["stop", "-m", "fast", "-w", "-t", "60"],
                "stopping PostgreSQL",
            )?;
        }
        Ok(())
    }

    fn cluster_initialized(&self) -> bool {
        self.layout.cluster().join("PG_VERSION").exists()
    }

    fn initdb(&self, options: ClusterOptions) -> Result<(), ClusterError> {
        tracing::info!(path = %self.layout.cluster().display(), "initializing the embedded PostgreSQL cluster");
        // initdb into a scratch directory and rename it into place, so a crash
        // half-way never leaves a directory that looks initialized.
        let scratch = self.layout.root.join("postgres.init");
        if scratch.exists() {
            self.remove_as_server(&scratch)?;
        }
        let mut command = self.server_command(&self.binaries.initdb);
        command.arg("-D").arg(&scratch).args([
            "-U",
            DATABASE_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        if options.ephemeral {
            command.arg("--no-sync");
        }
        run(command, "initdb")?;
        let mut settings = String::from(
            "\n# Written by Beacon: the embedded cluster listens only on its Unix socket.\n\
             listen_addresses = ''\n\
             max_connections = 200\n",
        );
        if options.ephemeral {
            settings.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        OpenOptions::new()
            .append(true)
            .open(scratch.join("postgresql.conf"))
            .and_then(|mut file| file.write_all(settings.as_bytes()))
            .map_err(io_error("writing postgresql.conf"))?;
        fs::rename(&scratch, self.layout.cluster())
            .map_err(io_error("moving the new cluster into place"))
    }

    fn is_running(&self) -> Result<bool, ClusterError> {
        let status = self
            .server_command(&self.binaries.pg_ctl)
            .arg("status")
            .arg("-D")
            .arg(self.layout.cluster())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(io_error("running pg_ctl status"))?;
        // pg_ctl trusts a pid file whose pid is alive; after a reboot that pid
        // may belong to another program, so the socket must be there too.
        Ok(status.success() && self.layout.socket_dir().join(".s.PGSQL.5432").exists())
    }

    /// After a crash or reboot `postmaster.pid` may name a process that is not
    /// our server any more; PostgreSQL would refuse to start over it.
    fn remove_stale_pid_file(&self) {
        let pid_file = self.layout.cluster().join("postmaster.pid");
        if pid_file.exists() {
            tracing::warn!("removing stale postmaster.pid left by an earlier crash");
            let _ = fs::remove_file(pid_file);
        }
    }

    fn pg_ctl_start(&self) -> Result<(), ClusterError> {
        tracing::info!("starting the embedded PostgreSQL cluster");
        let options = format!("-h '' -k '{}'", self.layout.socket_dir().display());
        let log = self.layout.log();
        let result = self.pg_ctl(
            &[
                "start",
                "-w",
                "-t",
                "60",
                "-l",
                &log.to_string_lossy(),
                "-o",
                &options,
            ],
            "starting PostgreSQL",
        );
        result.map_err(|error| match error {
            ClusterError::Command { action, detail } => ClusterError::Command {
                action,
                detail: format!(
                    "{detail}\nlast lines of {}:\n{}",
                    log.display(),
                    tail(&log, 15)
                ),
            },
            other => other,
        })
    }

    fn pg_ctl(&self, args: &[&str], action: &str) -> Result<(), ClusterError> {
        let mut command = self.server_command(&self.binaries.pg_ctl);
        command.args(args).arg("-D").arg(self.layout.cluster());
        run(command, action)
    }

    fn ensure_watchdog(&self) -> Result<(), ClusterError> {
        if let Ok(pid) = fs::read_to_string(self.layout.watchdog_pid())
            && process_alive(pid.trim())
        {
            return Ok(());
        }
        let script = include_str!("watchdog.sh");
        // The outer shell backgrounds the watchdog and exits at once, so the
        // watchdog is adopted by init and never becomes our zombie.
        let mut command = self.server_command(Path::new("/bin/sh"));
        command
            .arg("-c")
            .arg("\"$0\" -c \"$1\" watchdog \"$2\" \"$3\" \"$4\" \"$5\" </dev/null >/dev/null 2>&1 &")
            .arg("/bin/sh")
            .arg(script)
            .arg(&self.layout.root)
            .arg(&self.binaries.pg_ctl)
            .arg(self.layout.cluster())
            .arg(self.layout.watchdog_pid());
        run(command, "starting the cluster watchdog")
    }

    /// A command that runs as the account owning the cluster, in its own
    /// process group so a Ctrl-C meant for Beacon does not reach PostgreSQL
    /// before Beacon has finished its requests.
    fn server_command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command.stdin(Stdio::null()).process_group(0);
        if let Some(account) = &self.account {
            command.uid(account.uid.as_raw()).gid(account.gid.as_raw());
        }
        command
    }

    fn remove_as_server(&self, path: &Path) -> Result<(), ClusterError> {
        let mut command = self.server_command(Path::new("rm"));
        command.arg("-rf").arg(path);
        run(command, "removing a half-initialized cluster")
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        if let Err(error) = self.leave_inner() {
            tracing::error!(%error, "leaving the embedded PostgreSQL cluster");
        }
    }
}

fn server_account() -> Result<Option<ServerAccount>, ClusterError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let user = nix::unistd::User::from_name("postgres")
        .ok()
        .flatten()
        .ok_or(ClusterError::NoPostgresUser)?;
    Ok(Some(ServerAccount {
        uid: user.uid,
        gid: user.gid,
    }))
}

fn prepare_directories(
    layout: &Layout,
    account: Option<&ServerAccount>,
    options: ClusterOptions,
) -> Result<(), ClusterError> {
    for dir in [layout.socket_dir(), layout.users()] {
        fs::create_dir_all(&dir).map_err(io_error(format!("creating {}", dir.display())))?;
    }
    if options.ephemeral {
        File::create(layout.ephemeral_marker())
            .map_err(io_error("marking the cluster ephemeral"))?;
    }
    // Only the server's account may use the socket; root passes anyway.
    fs::set_permissions(layout.socket_dir(), fs::Permissions::from_mode(0o700))
        .map_err(io_error("securing the socket directory"))?;
    if let Some(account) = account {
        for path in [
            layout.root.clone(),
            layout.socket_dir(),
            layout.users(),
            layout.lock(),
        ] {
            nix::unistd::chown(&path, Some(account.uid), Some(account.gid)).map_err(|errno| {
                ClusterError::Io {
                    context: format!("handing {} to the postgres user", path.display()),
                    source: errno.into(),
                }
            })?;
        }
        let reachable = Command::new("test")
            .arg("-x")
            .arg(&layout.root)
            .uid(account.uid.as_raw())
            .gid(account.gid.as_raw())
            .status()
            .map_err(io_error("checking the data directory"))?;
        if !reachable.success() {
            return Err(ClusterError::Unreachable {
                path: layout.root.clone(),
            });
        }
    }
    Ok(())
}

/// Counts registered processes that are still alive, removing the others.
fn live_users(users: &Path) -> Result<usize, ClusterError> {
    let mut live = 0;
    for entry in fs::read_dir(users).map_err(io_error("listing cluster users"))? {
        let entry = entry.map_err(io_error("listing cluster users"))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let pid = name.split('-').next().unwrap_or_default();
        if process_alive(pid) {
            live += 1;
        } else {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(live)
}

fn process_alive(pid: &str) -> bool {
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        // It exists but belongs to another account.
        Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    }
}

/// Holds `cluster.lock`; released when dropped (or when the process dies).
fn lock_exclusive(path: &Path) -> Result<File, ClusterError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_error(format!("opening {}", path.display())))?;
    file.lock().map_err(io_error("locking the cluster"))?;
    Ok(file)
}

fn run(mut command: Command, action: &str) -> Result<(), ClusterError> {
    let output = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(io_error(format!("running {action}")))?;
    if output.status.success() {
        return Ok(());
    }
    let mut detail = String::from_utf8_lossy(&output.stderr).trim().to_string();
    if detail.is_empty() {
        detail = String::from_utf8_lossy(&output.stdout).trim().to_string();
    }
    Err(ClusterError::Command {
        action: action.to_string(),
        detail: format!("{} ({})", detail, output.status),
    })
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
