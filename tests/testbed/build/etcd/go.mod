// etcd 3.5 server for the testbed. go.etcd.io/etcd/server/v3 cannot be go-installed (its go.mod
// has replace lines); this wrapper only requires it: build.sh adds the requirement (ETCD_VERSION)
// and runs go mod tidy in a copy under $GHOST_CACHE/src.
module ghost.infra/testbed/etcd

go 1.25.0
