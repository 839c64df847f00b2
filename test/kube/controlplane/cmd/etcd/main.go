// Command etcd is the etcd server, built from the same module graph as the Kubernetes binaries so
// that the tests need no separately fetched etcd release.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
