// Kubernetes control-plane binaries for the testbed (no kubelet). k8s.io/kubernetes cannot be
// go-installed: its go.mod pins the staging modules (k8s.io/api, ...) at v0.0.0 and replaces them
// with ./staging. build.sh adds `require k8s.io/kubernetes KUBERNETES_VERSION`, one replace per
// staging module of that version's go.mod onto the published v0.<minor>.<patch>, and runs go mod
// tidy, all in a copy under $GHOST_CACHE/src. The tool lines name what gets built.
module ghost.infra/testbed/kubernetes

go 1.25.0

tool (
	k8s.io/kubernetes/cmd/kube-apiserver
	k8s.io/kubernetes/cmd/kube-controller-manager
	k8s.io/kubernetes/cmd/kube-scheduler
	k8s.io/kubernetes/cmd/kubectl
)
