//go:build tools

// Package tools pins kube-apiserver for `go build`; nothing here is compiled into the project.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
