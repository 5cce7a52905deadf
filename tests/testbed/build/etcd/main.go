// Command etcd is the etcd server, built from the published go.etcd.io/etcd/server/v3 module.
//
// It exists because the server module's go.mod has replace directives, so `go install` of
// upstream's main package is refused; this wrapper calls the same entry point.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
