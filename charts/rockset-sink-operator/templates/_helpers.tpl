{{/* Chart name, overridable. */}}
{{- define "rso.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name prefix of every resource (63 characters: a DNS label). */}}
{{- define "rso.fullname" -}}
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

{{- define "rso.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: immutable in a Deployment, so never add to them. */}}
{{- define "rso.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rso.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "rso.labels" -}}
helm.sh/chart: {{ include "rso.chart" . }}
{{ include "rso.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: rockset-sink
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "rso.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "rso.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository[:tag|@digest] */}}
{{- define "rso.imageRef" -}}
{{- $repo := index . 0 }}{{- $tag := index . 1 }}{{- $digest := index . 2 }}
{{- if $digest }}
{{- printf "%s@%s" $repo $digest }}
{{- else }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}
{{- end }}

{{- define "rso.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- include "rso.imageRef" (list .Values.image.repository $tag .Values.image.digest) }}
{{- end }}

{{/* The workers' default image: the operator's own unless sinkImage says otherwise. */}}
{{- define "rso.sinkImage" -}}
{{- if or .Values.sinkImage.repository .Values.sinkImage.tag .Values.sinkImage.digest }}
{{- $repo := default .Values.image.repository .Values.sinkImage.repository }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.sinkImage.tag }}
{{- include "rso.imageRef" (list $repo $tag .Values.sinkImage.digest) }}
{{- else }}
{{- include "rso.image" . }}
{{- end }}
{{- end }}

{{- define "rso.leaseName" -}}
{{- default (include "rso.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
The namespaced rules of the operator, one list for the ClusterRole and the per-namespace
Roles alike, so the two modes grant exactly the same. Each verb is one the operator
uses; nothing is deleted (owner references let the garbage collector remove a sink's
objects), and Secrets are read-only (the operator hashes their versions to roll workers).
*/}}
{{- define "rso.namespacedRules" -}}
- apiGroups: ["rockset-sink.dev"]
  resources: ["rocksetsinks"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["rockset-sink.dev"]
  resources: ["rocksetsinks/status"]
  verbs: ["get", "patch", "update"]
# owner references with blockOwnerDeletion need update on the owner's finalizers
- apiGroups: ["rockset-sink.dev"]
  resources: ["rocksetsinks/finalizers"]
  verbs: ["update"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "patch"]
# Secrets: the operator reads the metadata of a referenced one by name (and, for the
# lag reader, a SASL password). RBAC cannot tell a metadata list from a full one, so
# list and watch (the metadata watch: rotations roll at once) are opt-in: rbac.watchSecrets.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: {{ if .Values.rbac.watchSecrets }}["get", "list", "watch"]{{ else }}["get"]{{ end }}
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
