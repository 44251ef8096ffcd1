//go:build tools

// Package tools pins kube-apiserver (and kubectl, built only where a machine lacks it) for `go build`;
// nothing here is compiled into the project.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
