//! Action (nodes on a cluster network only): point each node's DNS at Docker's embedded DNS by
//! the network's gateway instead of 127.0.0.11, as kind's entrypoint does. On a user-defined
//! network Docker answers DNS at 127.0.0.11 inside the node; the kubelet hands the node's
//! resolv.conf to CoreDNS, and inside a pod that address is the pod's own loopback, so CoreDNS
//! would forward to itself and stop ("Loop ... detected").

use super::Context;
use crate::cluster::error::ClusterError;

/// Rewrites Docker's DNS NAT rules from 127.0.0.11 to the gateway address (also for traffic
/// arriving from pods, PREROUTING), then resolv.conf. Docker wrote the rules with the host's
/// iptables backend, which need not be the node's default: use the one that holds them.
/// resolv.conf is a bind mount: write it in place, `sed -i` would try to replace the file.
const SCRIPT: &str = r#"set -e
gw="$(ip -4 route show default | cut -d' ' -f3)"
[ -n "$gw" ] || { echo "no default route in the node" >&2; exit 1; }
mode=nft
if iptables-legacy-save -t nat 2>/dev/null | grep -q 127.0.0.11; then mode=legacy; fi
iptables-$mode-save \
  | sed -e "s/-d 127.0.0.11/-d $gw/g" \
        -e 's/^-A OUTPUT \(.*\) -j DOCKER_OUTPUT$/&\n-A PREROUTING \1 -j DOCKER_OUTPUT/' \
        -e "s/--to-source :53/--to-source $gw:53/g" \
        -e 's/-p \(tcp\|udp\) -j DNAT/-p \1 --dport 53 -j DNAT/g' \
  | iptables-$mode-restore
conf="$(sed -e "s/127.0.0.11/$gw/g" /etc/resolv.conf)"
printf '%s\n' "$conf" > /etc/resolv.conf
"#;

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    let nodes = ctx.all_nodes();
    futures::future::try_join_all(nodes.iter().map(|n| n.node.run(&["sh", "-c", SCRIPT]))).await?;
    Ok(())
}
