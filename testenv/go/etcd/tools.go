//go:build tools

// Package tools pins the etcd server for `go build`; nothing here is compiled into the project.
package tools

import _ "go.etcd.io/etcd/server/v3"
