//! The embedded PostgreSQL cluster: start, share, stop, recover.

use beacon::cluster::{ClusterError, ClusterOptions, EmbeddedCluster};

fn running(dir: &std::path::Path) -> bool {
    dir.join("postgres/postmaster.pid").exists()
}

#[test]
fn processes_share_one_cluster_and_the_last_to_leave_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let first = EmbeddedCluster::start_or_join(dir.path(), ClusterOptions::default()).unwrap();
    assert!(running(dir.path()));
    let second = EmbeddedCluster::start_or_join(dir.path(), ClusterOptions::default()).unwrap();
    assert_eq!(first.database_url("x"), second.database_url("x"));
    assert!(
        first.database_url("beacon").contains("host="),
        "a Unix socket, no TCP port"
    );
    first.leave().unwrap();
    assert!(running(dir.path()), "another user is still there");
    second.leave().unwrap();
    assert!(!running(dir.path()), "the last user stopped it");
}

#[test]
fn a_stale_pid_file_from_a_crash_is_recovered_from() {
    let dir = tempfile::tempdir().unwrap();
    EmbeddedCluster::start_or_join(dir.path(), ClusterOptions::default())
        .unwrap()
        .leave()
        .unwrap();
    let pid_file = dir.path().join("postgres/postmaster.pid");
    // What a crash leaves: a pid file naming a process that no longer exists.
    std::fs::write(&pid_file, "999999\n/nonexistent\n").unwrap();
    let cluster = EmbeddedCluster::start_or_join(dir.path(), ClusterOptions::default()).unwrap();
    assert!(running(dir.path()));
    cluster.leave().unwrap();
}

#[test]
fn missing_binaries_name_what_to_install() {
    let message = ClusterError::MissingBinaries {
        searched: "/usr/lib/postgresql".into(),
    }
    .to_string();
    assert!(message.contains("apt-get install postgresql"));
    assert!(message.contains("brew install postgresql@16"));
    assert!(message.contains("DATABASE_URL"));
}
