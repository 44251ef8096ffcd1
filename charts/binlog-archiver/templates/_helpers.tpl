{{/* Object names: <release>-<chart> unless the release name already contains the chart name (then the release name). */}}
{{- define "binlog-archiver.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "binlog-archiver.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The controller's name: Deployment, ClusterRole and its bindings, and the leader-election Lease. */}}
{{- define "binlog-archiver.controller" -}}
{{- printf "%s-controller" (include "binlog-archiver.fullname" .) -}}
{{- end -}}

{{- define "binlog-archiver.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "binlog-archiver.controller" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "binlog-archiver.selectorLabels" -}}
app.kubernetes.io/name: {{ include "binlog-archiver.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "binlog-archiver.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "binlog-archiver.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: binlog-archiver
{{- end -}}

{{/* repository:tag or repository@digest: the controller's image, and the one its Jobs run. */}}
{{- define "binlog-archiver.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The rules of the Role or ClusterRole named .name in files/rbac/<.file> (copies of deploy/base/rbac, the one place
the rules are written: npm run gen:chart copies them).
*/}}
{{- define "binlog-archiver.rulesOf" -}}
{{- $found := list -}}
{{- range $doc := regexSplit "(?m)^---\\s*$" (.root.Files.Get (printf "files/rbac/%s" .file)) -1 -}}
{{- $obj := fromYaml $doc -}}
{{- if and $obj.metadata (eq $obj.metadata.name $.name) -}}
{{- $found = $obj.rules -}}
{{- end -}}
{{- end -}}
{{- if not $found -}}
{{- fail (printf "files/rbac/%s has no role %s with rules (run npm run gen:chart)" .file .name) -}}
{{- end -}}
{{- toYaml $found -}}
{{- end -}}
