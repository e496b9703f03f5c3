//! Action: `kubeadm init`, as kind runs it. On failure the error carries the last lines of
//! kubeadm's output, of the kubelet's journal and of every container that the kubelet
//! restarted, and the node's free disk space: the kubelet only says that etcd is
//! crash-looping, the reason (a full disk, a port taken) is in etcd's own log.

use super::Context;
use crate::cluster::error::{BootstrapDiagnosis, ClusterError};
use crate::cluster::node::{NodeContainer, tail};

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    bootstrap(
        &ctx.node,
        &[
            "kubeadm",
            "init",
            "--skip-phases=preflight",
            "--config=/kind/kubeadm.conf",
            "--skip-token-print",
            "--v=6",
        ],
    )
    .await
}

/// For each container that the kubelet has restarted at least once, under its name, the last
/// lines of its last attempt that tell what failed. The node has no crictl, so this reads
/// the kubelet's own log files: one directory per container under /var/log/pods, one
/// numbered file per attempt, lines in the CRI format `TIME STREAM TAG MESSAGE`.
const RESTARTED_CONTAINERS: &str = r#"
for dir in /var/log/pods/*/*/; do
  last=$(ls "$dir" 2>/dev/null | sort -n | tail -n 1)
  case "$last" in ""|0.log) continue ;; esac
  pod=$(basename "$(dirname "$dir")")
  echo "== $(basename "$dir") (pod ${pod%_*}, attempt $((${last%.log} + 1))) =="
  # A crash ends in a stack trace; the cause is in the last lines that say what failed.
  lines=$(cut -d' ' -f4- "$dir$last" | grep -iE 'fatal|panic|error|fail' | tail -n 4)
  [ -n "$lines" ] || lines=$(cut -d' ' -f4- "$dir$last" | tail -n 6)
  printf '%s\n' "$lines" | cut -c1-600
done | head -n 60
"#;

/// The free space of the emptiest of the filesystems that etcd and containerd write to.
const LEAST_FREE_KIB: &str = "df -Pk /var/lib/etcd /var/lib/containerd /var/lib 2>/dev/null \
     | awk 'NR > 1 && (least == \"\" || $4 < least) { least = $4 } END { print least }'";

/// Below this the node's disk is named as the likely cause: etcd stops when it cannot write
/// its log, and a full disk otherwise shows only as an etcd crash loop.
const LOW_DISK_KIB: u64 = 1024 * 1024;

/// Run a kubeadm phase in `node`; a failure names the node and carries what tells why.
pub async fn bootstrap(node: &NodeContainer, argv: &[&str]) -> Result<(), ClusterError> {
    let out = node.exec(argv).await?;
    // kubeadm's own timestamps tell where a start spends its time (`RUST_LOG=podcheck=debug`).
    tracing::debug!(node = %node.name, "{}:\n{}", argv.join(" "), out.combined());
    if out.exit_code == 0 {
        return Ok(());
    }
    let journal = node
        .exec(&["journalctl", "-u", "kubelet", "--no-pager", "-n", "40"])
        .await
        .map(|o| o.combined())
        .unwrap_or_else(|e| format!("(journal unavailable: {e})"));
    let restarted = node
        .exec(&["sh", "-c", RESTARTED_CONTAINERS])
        .await
        .map(|o| o.combined())
        .unwrap_or_else(|e| format!("(containers unavailable: {e})"));
    let free_kib = node
        .exec(&["sh", "-c", LEAST_FREE_KIB])
        .await
        .ok()
        .and_then(|o| o.stdout.trim().parse::<u64>().ok());
    Err(ClusterError::Bootstrap {
        node: node.name.clone(),
        command: argv.join(" "),
        exit_code: out.exit_code,
        diagnosis: Box::new(BootstrapDiagnosis {
            output_tail: tail(&out.combined(), 30),
            kubelet_tail: tail(&journal, 40),
            restarted_tail: if restarted.trim().is_empty() {
                "(none)".to_string()
            } else {
                restarted.trim_end().to_string()
            },
            disk: disk_note(free_kib),
        }),
    })
}

/// The node's free space, and the fix when it is too little to run a control plane.
fn disk_note(free_kib: Option<u64>) -> String {
    match free_kib {
        None => "free disk space on the node: unknown (df failed)".to_string(),
        Some(kib) if kib < LOW_DISK_KIB => format!(
            "free disk space on the node: {} MiB. That is too little for etcd and the kubelet, \
             and the likely cause: free space on the Docker host (old build output, \
             `docker system prune`) and run again",
            kib / 1024
        ),
        Some(kib) => format!("free disk space on the node: {} MiB", kib / 1024),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nearly_full_disk_is_named_as_the_cause_with_the_fix() {
        let low = disk_note(Some(300 * 1024));
        assert!(
            low.contains("300 MiB") && low.contains("free space on the Docker host"),
            "{low}"
        );
        let fine = disk_note(Some(40 * 1024 * 1024));
        assert_eq!(fine, "free disk space on the node: 40960 MiB");
        assert!(disk_note(None).contains("unknown"));
    }
}
