{{- define "reviewhub.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "reviewhub.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "reviewhub.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "reviewhub.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "reviewhub.selectorLabels" -}}
app.kubernetes.io/name: {{ include "reviewhub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "reviewhub.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "reviewhub.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "reviewhub.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "reviewhub.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "reviewhub.secretName" -}}
{{- default (include "reviewhub.fullname" .) .Values.existingSecret }}
{{- end }}

{{/*
The rules the values must follow; every template includes this, so a
wrong combination fails `helm template`/`helm install` with the reason.
*/}}
{{- define "reviewhub.validate" -}}
{{- $driver := .Values.state.driver }}
{{- if not (has $driver (list "sqlite" "postgres")) }}
{{- fail (printf "state.driver must be sqlite or postgres, not %q" $driver) }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (ne $driver "postgres") }}
{{- fail (printf "replicaCount is %d but state.driver is sqlite: SQLite is one file for one hub; use state.driver=postgres for more than one replica" (int .Values.replicaCount)) }}
{{- end }}
{{- if and (eq $driver "postgres") (not .Values.existingSecret) }}
{{- if not .Values.state.dsn }}
{{- fail "state.driver is postgres: set state.dsn (or existingSecret with HUB_STATE_DSN)" }}
{{- end }}
{{- if not .Values.secrets.secretKey }}
{{- fail "state.driver is postgres: set secrets.secretKey (every hub of one database needs the same key, and nothing keeps a generated one)" }}
{{- end }}
{{- end }}
{{- range $probe := list "livenessProbe" "readinessProbe" }}
{{- range $handler := list "httpGet" "tcpSocket" "exec" "grpc" }}
{{- if hasKey (default (dict) (get $.Values $probe)) $handler }}
{{- fail (printf "%s.%s: the chart sets the probe's check (/healthz, /readyz); set only its timings" $probe $handler) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.secrets.adminToken (lt (len .Values.secrets.adminToken) 16) }}
{{- fail "secrets.adminToken must be at least 16 characters" }}
{{- end }}
{{- end }}
