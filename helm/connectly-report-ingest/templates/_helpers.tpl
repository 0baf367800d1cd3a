{{/*
The chart's name, or nameOverride. Cut to 63 characters: label values and DNS names allow no more.
*/}}
{{- define "connectly-report-ingest.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The base name of every object. A release whose name already contains the chart name is not repeated
("ingest-connectly-report-ingest" but not "connectly-report-ingest-connectly-report-ingest").
*/}}
{{- define "connectly-report-ingest.fullname" -}}
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

{{/*
Chart name and version for the helm.sh/chart label; "+" is not allowed in a label value.
*/}}
{{- define "connectly-report-ingest.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The labels that pick this release's service pods. Only selectors and the pod template carry exactly these. They
never change on upgrade: a Deployment's selector is immutable, so nothing versioned may go in here.
*/}}
{{- define "connectly-report-ingest.selectorLabels" -}}
app.kubernetes.io/name: {{ include "connectly-report-ingest.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels for the metadata of every object the chart makes. podLabels are deliberately not here: they belong to the
pods alone.
*/}}
{{- define "connectly-report-ingest.labels" -}}
helm.sh/chart: {{ include "connectly-report-ingest.chart" . }}
{{ include "connectly-report-ingest.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The service account the pods run as: the chart's own, or one named in values, or the namespace's default.
*/}}
{{- define "connectly-report-ingest.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "connectly-report-ingest.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Secret the container's credentials come from: one managed elsewhere (secrets.existingSecret), or the chart's.
*/}}
{{- define "connectly-report-ingest.secretName" -}}
{{- default (include "connectly-report-ingest.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
The image reference. A digest, when given, pins the exact image and wins over the tag; the tag defaults to the
chart's appVersion so a chart release and a service release move together.
*/}}
{{- define "connectly-report-ingest.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Secret values keyed by the environment variable each one becomes. The chart's Secret holds those that are set;
an existing Secret is expected to use the same keys.
*/}}
{{- define "connectly-report-ingest.secretEnv" -}}
{{- $secrets := .Values.secrets }}
{{- $byName := dict
  "CONNECTLY_API_KEY" $secrets.connectlyApiKey
  "KAFKA_SASL_PASSWORD" $secrets.kafkaSaslPassword
  "AWS_ACCESS_KEY_ID" $secrets.awsAccessKeyId
  "AWS_SECRET_ACCESS_KEY" $secrets.awsSecretAccessKey
  "WEBHOOK_PATH_TOKEN" $secrets.webhookPathToken
  "WEBHOOK_HMAC_SECRET" $secrets.webhookHmacSecret
  "ADMIN_TOKEN" $secrets.adminToken
}}
{{- range $name, $value := $byName }}
{{- if $value }}
{{ $name }}: {{ $value | b64enc | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Seconds Kubernetes waits after SIGTERM before it kills the container: the service's own drain budget
(SHUTDOWN_GRACE_MS) plus a margin for closing its Kafka clients and flushing logs, so the service, not the
kubelet, decides when a run in flight is abandoned.
*/}}
{{- define "connectly-report-ingest.terminationGracePeriodSeconds" -}}
{{- add (int .Values.shutdown.graceSeconds) (int .Values.shutdown.marginSeconds) }}
{{- end }}

{{/*
Fails the render, naming the value to set, when something the service cannot start without is missing. Helm's
schema check cannot express these, since they depend on one another.
*/}}
{{- define "connectly-report-ingest.validate" -}}
{{- $config := .Values.config }}
{{- if not $config.kafka.brokers }}
{{- fail "config.kafka.brokers is required: the Kafka bootstrap servers, as a list of host:port" }}
{{- end }}
{{- if not $config.s3.bucket }}
{{- fail "config.s3.bucket is required: the bucket the reports are archived in" }}
{{- end }}
{{- if not $config.connectly.businessId }}
{{- fail "config.connectly.businessId is required: the Connectly business whose reports these are" }}
{{- end }}
{{- if not .Values.secrets.existingSecret }}
{{- if not .Values.secrets.connectlyApiKey }}
{{- fail "secrets.connectlyApiKey is required (or name a Secret holding CONNECTLY_API_KEY in secrets.existingSecret)" }}
{{- end }}
{{- if and (ne $config.kafka.sasl.mechanism "none") (not .Values.secrets.kafkaSaslPassword) }}
{{- fail "secrets.kafkaSaslPassword is required when config.kafka.sasl.mechanism is not none" }}
{{- end }}
{{- /* Only a process that answers webhooks needs a caller check: a worker has no webhook route. */}}
{{- $callerCheck := or .Values.secrets.webhookPathToken .Values.secrets.webhookHmacSecret $config.webhook.allowedCidrs $config.webhook.allowUnauthenticated }}
{{- if and (eq $config.nodeEnv "production") (ne .Values.role "worker") (not $callerCheck) }}
{{- fail "the webhook needs a caller check in production: set secrets.webhookPathToken, secrets.webhookHmacSecret or config.webhook.allowedCidrs (or config.webhook.allowUnauthenticated: true to run without one)" }}
{{- end }}
{{- end }}
{{- if and (ne $config.kafka.sasl.mechanism "none") (not $config.kafka.sasl.username) }}
{{- fail "config.kafka.sasl.username is required when config.kafka.sasl.mechanism is not none" }}
{{- end }}
{{- $autoscaling := .Values.autoscaling }}
{{- if and $autoscaling.enabled (not (or $autoscaling.targetCPUUtilizationPercentage $autoscaling.targetMemoryUtilizationPercentage)) }}
{{- fail "autoscaling needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" }}
{{- end }}
{{- end }}
