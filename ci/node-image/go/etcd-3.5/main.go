// Command etcd is the etcd 3.5 server, built from the Go module proxy, for the Kubernetes
// releases whose kubeadm passes it flags that etcd 3.6 removed (1.23: --experimental-*).
//
// etcd's server module carries replace directives, so `go install` refuses it; this wrapper
// module pins the published versions of its sibling modules instead and calls the real main.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
