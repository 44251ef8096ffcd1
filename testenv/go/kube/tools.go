//go:build tools

// Package tools pins the Kubernetes commands the test environment builds from one module: kube-apiserver, the
// node's kubelet, kube-controller-manager, kube-scheduler and kube-proxy (and kubectl, built only where a machine
// lacks it); nothing here is compiled into the project.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
