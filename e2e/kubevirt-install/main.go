// kubevirt-install prints what virt-operator installs for a KubeVirt CR, made by virt-operator's own
// code at the KubeVirt version it is built against: the kubevirts CRD, the install strategy
// (CRDs, ServiceAccounts, RBAC, Services, webhook configurations, APIServices, admission
// policies, Deployments), the certificate Secrets filled in and the CA bundle put into the
// kubevirt-ca ConfigMap, the webhooks and the APIServices as virt-operator does it, and last the
// KubeVirt CR with the status virt-operator writes once everything is deployed.
//
// The e2e suite applies the output and runs virt-api and virt-controller as processes (their
// command lines come from the printed Deployments); virt-operator itself does not run, so its own
// webhook and Service are left out.
//
//	kubevirt-install -kubevirt kubevirt-cr.yaml > install.yaml
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	v1 "kubevirt.io/api/core/v1"
	"kubevirt.io/client-go/version"

	"kubevirt.io/kubevirt/pkg/virt-config/featuregate"
	"kubevirt.io/kubevirt/pkg/virt-operator/resource/apply"
	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/components"
	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/install"
	operatorutil "kubevirt.io/kubevirt/pkg/virt-operator/util"
)

func main() {
	kubevirtFile := flag.String("kubevirt", "", "the KubeVirt CR (YAML); its namespace is the install namespace")
	flag.Parse()
	if err := run(*kubevirtFile); err != nil {
		fmt.Fprintf(os.Stderr, "kubevirt-install: %v\n", err)
		os.Exit(1)
	}
}

func run(kubevirtFile string) error {
	data, err := os.ReadFile(kubevirtFile)
	if err != nil {
		return err
	}
	kv := &v1.KubeVirt{}
	if err := yaml.UnmarshalStrict(data, kv); err != nil {
		return fmt.Errorf("%s: %v", kubevirtFile, err)
	}
	if kv.Namespace == "" {
		return fmt.Errorf("%s: metadata.namespace is required", kubevirtFile)
	}
	namespace := kv.Namespace

	// virt-operator learns its version and image registry from its own image and environment.
	kubevirtVersion := version.Get().GitVersion
	os.Setenv(operatorutil.KubeVirtVersionEnvName, kubevirtVersion)
	os.Setenv(operatorutil.VirtOperatorImageEnvName, "quay.io/kubevirt/virt-operator:"+kubevirtVersion)
	config := operatorutil.GetTargetConfigFromKV(kv)

	// No monitoring namespace: no ServiceMonitor and PrometheusRule, as on a cluster without
	// the Prometheus operator.
	strategy, err := install.GenerateCurrentInstallStrategy(config, "", namespace)
	if err != nil {
		return err
	}
	kubevirtCrd, err := components.NewKubeVirtCrd()
	if err != nil {
		return err
	}

	out := &printer{}
	out.print(kubevirtCrd, "apiextensions.k8s.io/v1", "CustomResourceDefinition")
	for _, o := range strategy.CRDs() {
		out.print(o, "apiextensions.k8s.io/v1", "CustomResourceDefinition")
	}
	for _, o := range strategy.ServiceAccounts() {
		out.print(o, "v1", "ServiceAccount")
	}
	for _, o := range strategy.ClusterRoles() {
		out.print(o, "rbac.authorization.k8s.io/v1", "ClusterRole")
	}
	for _, o := range strategy.ClusterRoleBindings() {
		out.print(o, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding")
	}
	for _, o := range strategy.Roles() {
		out.print(o, "rbac.authorization.k8s.io/v1", "Role")
	}
	for _, o := range strategy.RoleBindings() {
		out.print(o, "rbac.authorization.k8s.io/v1", "RoleBinding")
	}
	for _, o := range strategy.Services() {
		if o.Name == components.VirtOperatorServiceName {
			continue // virt-operator's own webhook Service: virt-operator does not run here
		}
		out.print(o, "v1", "Service")
	}

	// Certificates, as virt-operator's createOrUpdateComponentsWithCertificates makes them: the
	// CAs first, then every serving and client certificate signed by kubevirt-ca.
	selfSigned := kv.Spec.CertificateRotationStrategy.SelfSigned
	cas := map[string]*corev1.Secret{}
	for _, s := range strategy.CertificateSecrets() {
		switch s.Name {
		case components.KubeVirtCASecretName, components.KubeVirtExportCASecretName, components.KubeVirtBackupCASecretName:
			if err := components.PopulateSecretWithCertificate(s, nil, apply.GetCADuration(selfSigned)); err != nil {
				return fmt.Errorf("secret %s: %v", s.Name, err)
			}
			cas[s.Name] = s
		}
	}
	ca, err := components.LoadCertificates(cas[components.KubeVirtCASecretName])
	if err != nil {
		return err
	}
	for _, s := range strategy.CertificateSecrets() {
		if _, isCA := cas[s.Name]; !isCA {
			if err := components.PopulateSecretWithCertificate(s, ca, apply.GetCertDuration(selfSigned)); err != nil {
				return fmt.Errorf("secret %s: %v", s.Name, err)
			}
		}
		out.print(s, "v1", "Secret")
	}
	// The CA ConfigMaps carry their CA's certificate under ca-bundle (the external one stays empty);
	// the install strategy lists them twice.
	printed := map[string]bool{}
	var caBundle []byte
	for _, cm := range strategy.ConfigMaps() {
		if printed[cm.Name] {
			continue
		}
		printed[cm.Name] = true
		bundle := ""
		if secret, ok := cas[cm.Name]; ok {
			bundle = string(secret.Data[corev1.TLSCertKey])
		}
		cm.Data = map[string]string{components.CABundleKey: bundle}
		if cm.Name == components.KubeVirtCASecretName {
			caBundle = []byte(bundle)
		}
		out.print(cm, "v1", "ConfigMap")
	}

	for _, o := range strategy.ValidatingWebhookConfigurations() {
		if o.Name == components.KubeVirtOperatorValidatingWebhookName {
			continue // served by virt-operator, which does not run here
		}
		for i := range o.Webhooks {
			o.Webhooks[i].ClientConfig.CABundle = caBundle
		}
		out.print(o, "admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration")
	}
	for _, o := range strategy.MutatingWebhookConfigurations() {
		// virt-operator creates the launcher pod mutator only with the ContainerPathVolumes gate
		// (createOrDeleteContainerPathVolumesWebhook).
		if o.Name == components.VirtLauncherPodMutatingWebhookName &&
			!slices.Contains(featureGates(kv), featuregate.ContainerPathVolumesGate) {
			continue
		}
		for i := range o.Webhooks {
			o.Webhooks[i].ClientConfig.CABundle = caBundle
		}
		out.print(o, "admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration")
	}
	for _, o := range strategy.ValidatingAdmissionPolicies() {
		out.print(o, "admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy")
	}
	for _, o := range strategy.ValidatingAdmissionPolicyBindings() {
		out.print(o, "admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding")
	}
	for _, o := range strategy.APIServices() {
		o.Spec.CABundle = caBundle
		out.print(o, "apiregistration.k8s.io/v1", "APIService")
	}
	// virt-operator deploys the common instancetypes and preferences unless the CR opts out
	// (reconcile.go, commonInstancetypesDeploymentEnabled); they are validated by virt-api, so
	// they are created once it runs.
	if d := kv.Spec.Configuration.CommonInstancetypesDeployment; d == nil || d.Enabled == nil || *d.Enabled {
		for _, o := range strategy.Instancetypes() {
			out.print(o, "instancetype.kubevirt.io/v1beta1", "VirtualMachineClusterInstancetype")
		}
		for _, o := range strategy.Preferences() {
			out.print(o, "instancetype.kubevirt.io/v1beta1", "VirtualMachineClusterPreference")
		}
	}
	// Printed for their command lines and environment; the suite runs the programs itself.
	for _, o := range strategy.Deployments() {
		out.print(o, "apps/v1", "Deployment")
	}
	for _, o := range strategy.DaemonSets() {
		out.print(o, "apps/v1", "DaemonSet")
	}

	// The status virt-operator writes when every component is ready (kubevirt.go, SyncAll).
	if err := config.SetTargetDeploymentConfig(kv); err != nil {
		return err
	}
	operatorutil.SetDefaultArchitecture(kv)
	if err := config.SetObservedDeploymentConfig(kv); err != nil {
		return err
	}
	operatorutil.UpdateConditionsCreated(kv)
	kv.Status.Phase = v1.KubeVirtPhaseDeployed
	operatorutil.UpdateConditionsAvailable(kv)
	kv.Status.ObservedGeneration = &kv.Generation
	kv.Status.OperatorVersion = kubevirtVersion
	out.printWithStatus(kv, "kubevirt.io/v1", "KubeVirt")
	return out.err
}

func featureGates(kv *v1.KubeVirt) []string {
	if kv.Spec.Configuration.DeveloperConfiguration == nil {
		return nil
	}
	return kv.Spec.Configuration.DeveloperConfiguration.FeatureGates
}

type printer struct {
	err error
}

// print writes one YAML document without status and creationTimestamp, as virt-operator's own
// manifest dump does.
func (p *printer) print(o runtime.Object, apiVersion, kind string) {
	p.write(o, apiVersion, kind, false)
}

func (p *printer) printWithStatus(o runtime.Object, apiVersion, kind string) {
	p.write(o, apiVersion, kind, true)
}

func (p *printer) write(o runtime.Object, apiVersion, kind string, keepStatus bool) {
	if p.err != nil {
		return
	}
	o.GetObjectKind().SetGroupVersionKind(schema.FromAPIVersionAndKind(apiVersion, kind))
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		p.err = fmt.Errorf("%s: %v", kind, err)
		return
	}
	if meta, ok := u["metadata"].(map[string]interface{}); ok {
		delete(meta, "creationTimestamp")
	}
	if !keepStatus {
		delete(u, "status")
	}
	text, err := yaml.Marshal(u)
	if err != nil {
		p.err = fmt.Errorf("%s: %v", kind, err)
		return
	}
	_, p.err = fmt.Printf("---\n%s", text)
}
