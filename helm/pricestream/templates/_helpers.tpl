{{/* Chart name, overridable. */}}
{{- define "pricestream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/*
Prefix of every object name. Kept to 40 characters so that "<prefix>-analytics" plus a
StatefulSet's revision hash stays within Kubernetes' 63-character label limit.
*/}}
{{- define "pricestream.fullname" -}}
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

{{- define "pricestream.extractor.fullname" -}}
{{- printf "%s-extractor" (include "pricestream.fullname" .) -}}
{{- end -}}

{{- define "pricestream.analytics.fullname" -}}
{{- printf "%s-analytics" (include "pricestream.fullname" .) -}}
{{- end -}}

{{/* Labels of every object; call with (dict "ctx" $ "component" "extractor"). */}}
{{- define "pricestream.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: pricestream
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
{{ include "pricestream.selectorLabels" . }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels that select one component's pods; call like pricestream.labels. */}}
{{- define "pricestream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pricestream.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "pricestream.extractor.serviceAccountName" -}}
{{- if .Values.extractor.serviceAccount.create -}}
{{- default (include "pricestream.extractor.fullname" .) .Values.extractor.serviceAccount.name -}}
{{- else -}}
{{- required "extractor.serviceAccount.name must name an existing ServiceAccount when extractor.serviceAccount.create is false" .Values.extractor.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "pricestream.analytics.serviceAccountName" -}}
{{- if .Values.analytics.serviceAccount.create -}}
{{- default (include "pricestream.analytics.fullname" .) .Values.analytics.serviceAccount.name -}}
{{- else -}}
{{- required "analytics.serviceAccount.name must name an existing ServiceAccount when analytics.serviceAccount.create is false" .Values.analytics.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* An image reference; call with (dict "ctx" $ "image" .Values.extractor.image). */}}
{{- define "pricestream.image" -}}
{{- $registry := .ctx.Values.image.registry -}}
{{- $repository := ternary (printf "%s/%s" $registry .image.repository) .image.repository (ne $registry "") -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default .ctx.Chart.AppVersion .ctx.Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Pod-level security context: the fixed least-privilege policy. */}}
{{- define "pricestream.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container-level security context: the fixed least-privilege policy. */}}
{{- define "pricestream.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* imagePullSecrets of a pod spec; only include it when image.pullSecrets is set. */}}
{{- define "pricestream.imagePullSecrets" -}}
imagePullSecrets:
{{- range .Values.image.pullSecrets }}
  - name: {{ . }}
{{- end }}
{{- end -}}

{{/*
Environment both services share: logging, and the Kafka and Cassandra credentials
taken from existing Secrets by name (never from values).
*/}}
{{- define "pricestream.commonEnv" -}}
- name: PRICESTREAM_LOG_FORMAT
  value: {{ .Values.logging.format | default "json" | quote }}
- name: RUST_LOG
  value: {{ .Values.logging.level | default "info" | quote }}
{{- with .Values.kafka.auth }}
{{- if .existingSecret }}
- name: KAFKA_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .usernameKey }}
- name: KAFKA_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .passwordKey }}
{{- end }}
{{- end }}
{{- with .Values.kafka.tls }}
{{- if and .existingSecret .keyPasswordKey }}
- name: KAFKA_TLS_KEY_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .keyPasswordKey }}
{{- end }}
{{- end }}
{{- with .Values.cassandra.auth }}
{{- if .existingSecret }}
- name: CASSANDRA_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .usernameKey }}
- name: CASSANDRA_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .passwordKey }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Mounts both services share: the config file, /tmp, and the TLS Secrets if any. */}}
{{- define "pricestream.commonVolumeMounts" -}}
- name: config
  mountPath: /etc/pricestream
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  mountPath: /etc/pricestream-tls/kafka
  readOnly: true
{{- end }}
{{- if and .Values.cassandra.tls.enabled .Values.cassandra.tls.existingSecret }}
- name: cassandra-tls
  mountPath: /etc/pricestream-tls/cassandra
  readOnly: true
{{- end }}
{{- end -}}

{{/*
The files of a TLS Secret under fixed names (ca.crt, tls.crt, tls.key): the keys of
values.<service>.tls that are set; call with the tls values. The volumes mount them 0440:
readable by the pods' fsGroup only.
*/}}
{{- define "pricestream.tlsItems" -}}
{{- range $file, $key := dict "ca.crt" .caKey "tls.crt" .certificateKey "tls.key" .keyKey }}
{{- if $key }}
- key: {{ $key }}
  path: {{ $file }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "pricestream.commonVolumes" -}}
- name: config
  configMap:
    name: {{ include "pricestream.fullname" . }}-config
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- with .Values.kafka.tls }}
{{- if .existingSecret }}
- name: kafka-tls
  secret:
    secretName: {{ .existingSecret }}
    defaultMode: 288 # 0440
    items:
      {{- include "pricestream.tlsItems" . | trim | nindent 6 }}
{{- end }}
{{- end }}
{{- with .Values.cassandra.tls }}
{{- if and .enabled .existingSecret }}
- name: cassandra-tls
  secret:
    secretName: {{ .existingSecret }}
    defaultMode: 288 # 0440
    items:
      {{- include "pricestream.tlsItems" . | trim | nindent 6 }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The [<service>.tls] table of the configs: the mounted files the values name, and the name
check; call with (dict "tls" .Values.<service>.tls "dir" "/etc/pricestream-tls/<service>").
*/}}
{{- define "pricestream.tlsTable" -}}
{{- $table := dict "verify_hostname" .tls.verifyHostname -}}
{{- if .tls.existingSecret -}}
{{- range $setting, $pair := dict "ca_file" (list .tls.caKey "ca.crt") "certificate_file" (list .tls.certificateKey "tls.crt") "key_file" (list .tls.keyKey "tls.key") -}}
{{- if index $pair 0 -}}
{{- $_ := set $table $setting (printf "%s/%s" $.dir (index $pair 1)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $table -}}
{{- end -}}

{{/* Probe settings from values; call with (dict "path" "/healthz" "probe" .Values.x.livenessProbe). */}}
{{- define "pricestream.probe" -}}
httpGet:
  path: {{ .path }}
  port: metrics
{{- range $key := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" }}
{{- if hasKey $.probe $key }}
{{ $key }}: {{ get $.probe $key }}
{{- end }}
{{- end }}
{{- end -}}

{{/* A TOML value: strings, numbers and booleans as JSON (valid TOML); lists of them. */}}
{{- define "pricestream.toml.value" -}}
{{- if kindIs "slice" . -}}
[{{ range $i, $v := . }}{{ if $i }}, {{ end }}{{ toJson $v }}{{ end }}]
{{- else -}}
{{- toJson . -}}
{{- end -}}
{{- end -}}

{{/* A TOML key: bare when it may be, quoted otherwise. */}}
{{- define "pricestream.toml.key" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . -}}{{ . }}{{- else -}}{{ toJson . }}{{- end -}}
{{- end -}}

{{/*
One TOML table and its sub-tables; call with (dict "path" "kafka" "table" $map).
Scalars and lists first, then every nested map as [path.key]; null values are left out.
*/}}
{{- define "pricestream.toml.table" -}}
[{{ .path }}]
{{- range $key, $value := .table }}
{{- if and (not (kindIs "map" $value)) (not (kindIs "invalid" $value)) }}
{{ include "pricestream.toml.key" $key }} = {{ include "pricestream.toml.value" $value }}
{{- end }}
{{- end }}
{{- range $key, $value := .table }}
{{- if kindIs "map" $value }}

{{ include "pricestream.toml.table" (dict "path" (printf "%s.%s" $.path (include "pricestream.toml.key" $key)) "table" $value) }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The [kafka] and [cassandra] sections both config files share. */}}
{{- define "pricestream.toml.services" -}}
{{- $properties := deepCopy (.Values.kafka.properties | default dict) -}}
{{- $kafka := dict
  "brokers" .Values.kafka.brokers
  "topic_prefix" .Values.kafka.topicPrefix
  "topic_partitions" .Values.kafka.topicPartitions
  "topic_replication_factor" .Values.kafka.topicReplicationFactor
  "security_protocol" .Values.kafka.securityProtocol
  "sasl_mechanism" .Values.kafka.saslMechanism
  "properties" $properties
-}}
{{- $cassandra := dict
  "contact_points" .Values.cassandra.contactPoints
  "dwh_keyspace" .Values.cassandra.dwhKeyspace
  "mart_keyspace" .Values.cassandra.martKeyspace
  "replication" .Values.cassandra.replication
  "max_in_flight_requests" .Values.cassandra.maxInFlightRequests
  "request_timeout_ms" .Values.cassandra.requestTimeoutMs
-}}
{{- if .Values.cassandra.localDatacenter -}}
{{- $_ := set $cassandra "local_datacenter" .Values.cassandra.localDatacenter -}}
{{- end -}}
{{- if hasSuffix "ssl" .Values.kafka.securityProtocol -}}
{{- $_ := set $kafka "tls" (include "pricestream.tlsTable" (dict "tls" .Values.kafka.tls "dir" "/etc/pricestream-tls/kafka") | fromJson) -}}
{{- end -}}
{{- if .Values.cassandra.tls.enabled -}}
{{- $_ := set $cassandra "tls" (include "pricestream.tlsTable" (dict "tls" .Values.cassandra.tls "dir" "/etc/pricestream-tls/cassandra") | fromJson) -}}
{{- end -}}
{{ include "pricestream.toml.table" (dict "path" "kafka" "table" $kafka) }}

{{ include "pricestream.toml.table" (dict "path" "cassandra" "table" $cassandra) }}
{{- end -}}

{{/*
Container resources with every quantity as a string ("2", "500m", "4Gi"), the form the
Kubernetes API and its clients expect; call with the resources map.
*/}}
{{- define "pricestream.resources" -}}
{{- range $side := list "requests" "limits" }}
{{- with index $ $side }}
{{ $side }}:
{{- range $resource, $quantity := . }}
  {{ $resource }}: {{ $quantity | toString | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
