// Command cni-installer is the offline node image's default CNI: run as a DaemonSet on every
// node, it writes a bridge + host-local + portmap network configuration for the pod subnet it
// is given, then stays up so the DaemonSet reports the network as installed.
//
// CNI_VERSION sets the configuration's cniVersion (default 1.0.0): a kubelet that runs the CNI
// plugins itself through an older libcni (the dockershim of Kubernetes 1.23 vendors libcni
// 0.8.1) cannot read a 1.0.0 result, so its node asks for 0.4.0.
//
// It serves one-node clusters: every node gets the same subnet, which is right only when
// there is one node. Multi-node clusters need a real CNI (kind's kindnetd).
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	subnet := os.Getenv("POD_SUBNET")
	confDir := os.Getenv("CNI_CONF_DIR")
	if confDir == "" {
		confDir = "/etc/cni/net.d"
	}
	if _, _, err := net.ParseCIDR(subnet); err != nil {
		fmt.Fprintf(os.Stderr, "cni-installer: POD_SUBNET=%q is not a CIDR: %v\n", subnet, err)
		os.Exit(2)
	}
	version := os.Getenv("CNI_VERSION")
	if version == "" {
		version = "1.0.0"
	}
	conf := map[string]any{
		"cniVersion": version,
		"name":       "podcheck",
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      "cni0",
				"isGateway":   true,
				"ipMasq":      true,
				"hairpinMode": true,
				"ipam": map[string]any{
					"type":   "host-local",
					"ranges": [][]map[string]string{{{"subnet": subnet}}},
					"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		panic(err)
	}
	// Write beside the target and rename, so the runtime never reads half a file.
	target := filepath.Join(confDir, "10-podcheck.conflist")
	tmp := target + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "cni-installer: %v\n", err)
		os.Exit(1)
	}
	if err := os.Rename(tmp, target); err != nil {
		fmt.Fprintf(os.Stderr, "cni-installer: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("cni-installer: wrote %s for pod subnet %s\n", target, subnet)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
