// kubevirt-operator prints what KubeVirt's release manifest kubevirt-operator.yaml holds, made by
// the same KubeVirt code its manifest-templator and resource-generator call, at the version this
// program is built against: the namespace, the kubevirts CRD, the kubevirt-cluster-critical
// PriorityClass, virt-operator's RBAC and its Deployment. Users apply that file and then a KubeVirt
// CR; virt-operator installs the rest.
//
//	kubevirt-operator -namespace kubevirt -registry vmpower.local/kubevirt -tag v1.8.4 \
//	  -pull-policy Never -replicas 1 > kubevirt-operator.yaml
package main

import (
	"flag"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/components"
	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/rbac"
)

func main() {
	namespace := flag.String("namespace", "kubevirt", "install namespace")
	registry := flag.String("registry", "quay.io/kubevirt", "image registry (KubeVirt's images are REGISTRY/NAME:TAG)")
	tag := flag.String("tag", "", "image tag (the KubeVirt version)")
	pullPolicy := flag.String("pull-policy", "IfNotPresent", "imagePullPolicy of virt-operator and every component")
	replicas := flag.Int("replicas", 2, "virt-operator replicas (the release manifest has 2)")
	verbosity := flag.String("verbosity", "2", "virt-operator's -v")
	flag.Parse()
	if *tag == "" {
		fmt.Fprintln(os.Stderr, "kubevirt-operator: -tag is required")
		os.Exit(2)
	}
	if err := run(*namespace, *registry, *tag, corev1.PullPolicy(*pullPolicy), int32(*replicas), *verbosity); err != nil {
		fmt.Fprintf(os.Stderr, "kubevirt-operator: %v\n", err)
		os.Exit(1)
	}
}

func run(namespace, registry, tag string, pullPolicy corev1.PullPolicy, replicas int32, verbosity string) error {
	// as kubevirt-operator.yaml.in
	ns := &corev1.Namespace{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: map[string]string{
			"kubevirt.io": "", "pod-security.kubernetes.io/enforce": "privileged"}},
	}
	if err := print(ns); err != nil {
		return err
	}
	crd, err := components.NewKubeVirtCrd()
	if err != nil {
		return err
	}
	if err := print(crd); err != nil {
		return err
	}
	if err := print(components.NewKubeVirtPriorityClassCR()); err != nil {
		return err
	}
	// the aggregated ClusterRole the release manifest lists before the generated RBAC
	if err := print(&rbacv1.ClusterRole{
		TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: "kubevirt.io:operator", Labels: map[string]string{
			"operator.kubevirt.io": "", "rbac.authorization.k8s.io/aggregate-to-admin": "true"}},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"kubevirt.io"}, Resources: []string{"kubevirts"},
			Verbs: []string{"get", "delete", "create", "update", "patch", "list", "watch", "deletecollection"},
		}},
	}); err != nil {
		return err
	}
	for _, o := range rbac.GetAllOperator(namespace) {
		if err := print(o); err != nil {
			return err
		}
	}
	// as manifest-templator's getOperatorDeploymentSpec, with no per-component image overrides
	deployment := components.NewOperatorDeployment(namespace, registry, "", tag, verbosity, tag, "",
		"", "", "", "", "", "", "", "", "", "", "", "", "", pullPolicy)
	deployment.Spec.Replicas = &replicas
	return print(deployment)
}

func print(o interface{}) error {
	b, err := yaml.Marshal(o)
	if err != nil {
		return err
	}
	fmt.Printf("---\n%s", b)
	return nil
}
