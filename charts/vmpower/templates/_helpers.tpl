{{/* Chart name, possibly overridden. */}}
{{- define "vmpower.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every resource name (63 characters max: DNS label rules). */}}
{{- define "vmpower.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "vmpower.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "vmpower.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vmpower.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "vmpower.labels" -}}
helm.sh/chart: {{ include "vmpower.chart" . }}
{{ include "vmpower.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vmpower
{{- end }}

{{- define "vmpower.serviceAccountName" -}}
{{- default (include "vmpower.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{/* Also the name the program patches the caBundle into, and the only one RBAC lets it touch. */}}
{{- define "vmpower.webhookConfigurationName" -}}
{{- include "vmpower.fullname" . }}
{{- end }}

{{- define "vmpower.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "vmpower.fullname" .)) .Values.tls.secretName }}
{{- end }}

{{- define "vmpower.leaseName" -}}
{{- default (printf "%s-controller" (include "vmpower.fullname" .)) .Values.controller.leaseName }}
{{- end }}

{{- define "vmpower.certificateName" -}}
{{- printf "%s-serving" (include "vmpower.fullname" .) }}
{{- end }}

{{- define "vmpower.certManagerMode" -}}
{{- if eq .Values.tls.mode "cert-manager" }}true{{ end }}
{{- end }}

{{- define "vmpower.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Both webhooks: only namespaces labelled vmpower.io/enabled=true, and never kube-system or the
release namespace (the webhook's own pods must start even while it is down).
*/}}
{{- define "vmpower.namespaceSelector" -}}
matchExpressions:
  - key: vmpower.io/enabled
    operator: In
    values: ["true"]
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      {{- range (concat (list "kube-system" .Release.Namespace) .Values.webhooks.extraExcludedNamespaces | uniq) }}
      - {{ . | quote }}
      {{- end }}
{{- end }}
