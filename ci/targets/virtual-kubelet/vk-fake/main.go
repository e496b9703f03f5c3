// vk-fake: a negative-control kubelet built on the virtual-kubelet library
// (github.com/virtual-kubelet/virtual-kubelet v1.14.1, package node/nodeutil).
// It behaves like virtual-kubelet's mock provider: every pod bound to its node is
// reported Running and Ready at once, nothing runs; logs are empty; exec and attach
// "succeed" (exit 0) doing nothing. Differences from the upstream mock, on purpose:
//   - pod IPs come from a prefix podcheck makes unreachable in the node (10.245.1.x, set
//     by the unit that starts it) and the host IP is the node's own address, so that
//     nothing ever dials a foreign address (the upstream mock reports podIP 5.6.7.8 and
//     hostIP 1.2.3.4, both public);
//   - the TLS serving certificate is self-signed in memory (no files needed);
//   - env valueFrom is not resolved (upstream leaves pods with status.podIP env Pending).
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

type fake struct {
	mu       sync.Mutex
	pods     map[string]*corev1.Pod
	notify   func(*corev1.Pod)
	hostIP   string
	podIPPfx string
	next     int
}

func key(ns, name string) string { return ns + "/" + name }

func (f *fake) CreatePod(_ context.Context, pod *corev1.Pod) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = f.next%250 + 1
	now := metav1.NewTime(time.Now())
	ip := fmt.Sprintf("%s%d", f.podIPPfx, f.next)
	if pod.Spec.HostNetwork {
		ip = f.hostIP
	}
	pod.Status = corev1.PodStatus{
		Phase:     corev1.PodRunning,
		HostIP:    f.hostIP,
		HostIPs:   []corev1.HostIP{{IP: f.hostIP}},
		PodIP:     ip,
		PodIPs:    []corev1.PodIP{{IP: ip}},
		StartTime: &now,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		},
	}
	for _, c := range pod.Spec.Containers {
		started := true
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Ready: true, Started: &started,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	f.pods[key(pod.Namespace, pod.Name)] = pod
	if f.notify != nil {
		f.notify(pod)
	}
	return nil
}

func (f *fake) UpdatePod(_ context.Context, pod *corev1.Pod) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.pods[key(pod.Namespace, pod.Name)]; ok {
		pod.Status = old.Status
	}
	f.pods[key(pod.Namespace, pod.Name)] = pod
	if f.notify != nil {
		f.notify(pod)
	}
	return nil
}

func (f *fake) DeletePod(_ context.Context, pod *corev1.Pod) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := key(pod.Namespace, pod.Name)
	if _, ok := f.pods[k]; !ok {
		return errdefs.NotFound("pod not found")
	}
	delete(f.pods, k)
	now := metav1.Now()
	pod.Status.Phase = corev1.PodSucceeded
	pod.Status.Reason = "FakeProviderPodDeleted"
	for i := range pod.Status.ContainerStatuses {
		cs := &pod.Status.ContainerStatuses[i]
		started := now
		if cs.State.Running != nil {
			started = cs.State.Running.StartedAt
		}
		cs.Ready = false
		cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			Reason: "FakeProviderContainerDeleted", StartedAt: started, FinishedAt: now,
		}}
	}
	if f.notify != nil {
		f.notify(pod)
	}
	return nil
}

func (f *fake) GetPod(_ context.Context, ns, name string) (*corev1.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.pods[key(ns, name)]; ok {
		return p, nil
	}
	return nil, errdefs.NotFoundf("pod %s/%s is not known to the provider", ns, name)
}

func (f *fake) GetPodStatus(ctx context.Context, ns, name string) (*corev1.PodStatus, error) {
	p, err := f.GetPod(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	return &p.Status, nil
}

func (f *fake) GetPods(context.Context) ([]*corev1.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(f.pods))
	for _, p := range f.pods {
		out = append(out, p)
	}
	return out, nil
}

func (f *fake) NotifyPods(_ context.Context, cb func(*corev1.Pod)) {
	f.mu.Lock()
	f.notify = cb
	f.mu.Unlock()
}

func (f *fake) GetContainerLogs(context.Context, string, string, string, api.ContainerLogOpts) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("")), nil
}

func (f *fake) RunInContainer(context.Context, string, string, string, []string, api.AttachIO) error {
	return nil // "succeeds", does nothing, prints nothing
}

func (f *fake) AttachToContainer(context.Context, string, string, string, api.AttachIO) error {
	return nil
}

func (f *fake) GetStatsSummary(context.Context) (*statsv1alpha1.Summary, error) {
	return &statsv1alpha1.Summary{}, nil
}

func (f *fake) GetMetricsResource(context.Context) ([]*dto.MetricFamily, error) {
	return nil, nil
}

func (f *fake) PortForward(context.Context, string, string, int32, io.ReadWriteCloser) error {
	return nil
}

func selfSigned(ip string) (tls.Certificate, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "vk-fake"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP(ip)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, nil
}

var muxHolder = http.NewServeMux()

func mustClient(kubeconfig string) *kubernetes.Clientset {
	c, err := nodeutil.ClientsetFromEnv(kubeconfig)
	if err != nil {
		panic(err)
	}
	return c
}

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig")
	nodeName := flag.String("nodename", "vk-mock", "node name")
	nodeIP := flag.String("node-ip", "127.0.0.1", "InternalIP of the node: the API server dials it for logs/exec")
	listen := flag.String("listen", ":10260", "kubelet API (TLS) listen address")
	podIPPfx := flag.String("pod-ip-prefix", "10.245.1.", "pod IPs are this prefix + 1..250 (keep it unreachable where this runs)")
	taint := flag.String("taint", "virtual-kubelet.io/provider=mock:NoSchedule", "node taint key=value:Effect (empty: none)")
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()

	_, portStr, err := net.SplitHostPort(*listen)
	if err != nil {
		panic(err)
	}
	var port int32
	fmt.Sscan(portStr, &port)
	cert, err := selfSigned(*nodeIP)
	if err != nil {
		panic(err)
	}
	p := &fake{pods: map[string]*corev1.Pod{}, hostIP: *nodeIP, podIPPfx: *podIPPfx}

	n, err := nodeutil.NewNode(*nodeName,
		func(cfg nodeutil.ProviderConfig) (nodeutil.Provider, node.NodeProvider, error) {
			nd := cfg.Node
			rl := corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("16"),
				corev1.ResourceMemory: resource.MustParse("64Gi"),
				corev1.ResourcePods:   resource.MustParse("110"),
			}
			nd.Status.Capacity = rl
			nd.Status.Allocatable = rl
			nd.Status.Addresses = []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: *nodeIP},
				{Type: corev1.NodeHostName, Address: *nodeName},
			}
			nd.Status.DaemonEndpoints.KubeletEndpoint.Port = port
			nd.Status.NodeInfo = corev1.NodeSystemInfo{
				KubeletVersion: "v1.37.2-vk-fake", OperatingSystem: "linux", Architecture: runtime.GOARCH,
				ContainerRuntimeVersion: "vk-fake://0",
			}
			nd.Labels["kubernetes.io/os"] = "linux"
			nd.Labels["kubernetes.io/arch"] = runtime.GOARCH
			// What podcheck's placement selects this node by.
			nd.Labels["type"] = "virtual-kubelet"
			return p, nil, nil
		},
		nodeutil.WithClient(mustClient(*kubeconfig)),
		func(cfg *nodeutil.NodeConfig) error {
			cfg.KubeconfigPath = *kubeconfig
			cfg.HTTPListenAddr = *listen
			cfg.NumWorkers = 4
			// The library resolves env valueFrom itself before CreatePod and knows no
			// status.podIP ("unsupported fieldPath"): such pods would stay Pending.
			cfg.SkipDownwardAPIResolution = true
			if *taint != "" {
				kv, eff, _ := strings.Cut(*taint, ":")
				k, v, _ := strings.Cut(kv, "=")
				cfg.NodeSpec.Spec.Taints = append(cfg.NodeSpec.Spec.Taints,
					corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(eff)})
			}
			return nil
		},
		nodeutil.AttachProviderRoutes(muxHolder),
		func(cfg *nodeutil.NodeConfig) error {
			cfg.Handler = nodeutil.WithAuth(nodeutil.NoAuth(), muxHolder)
			return nil
		},
		nodeutil.WithTLSConfig(func(c *tls.Config) error {
			c.Certificates = []tls.Certificate{cert}
			return nil
		}),
	)
	if err != nil {
		panic(err)
	}
	go n.Run(ctx) //nolint:errcheck
	if err := n.WaitReady(ctx, time.Minute); err != nil {
		panic(err)
	}
	fmt.Fprintf(os.Stderr, "vk-fake: node %s ready, kubelet API on %s\n", *nodeName, *listen)
	<-n.Done()
	if err := n.Err(); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "vk-fake:", err)
		os.Exit(1)
	}
}
