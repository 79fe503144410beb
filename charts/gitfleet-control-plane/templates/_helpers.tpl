{{- define "gitfleet-control-plane.labels" -}}
app.kubernetes.io/name: gitfleet-control-plane
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "gitfleet-control-plane.selector" -}}
app.kubernetes.io/name: gitfleet-control-plane
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gitfleet-control-plane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ .Values.serviceAccount.name | default .Release.Name }}
{{- else -}}
{{ .Values.serviceAccount.name | default "default" }}
{{- end -}}
{{- end -}}

{{/* The chart's own Secret (redis URL, API tokens, secret key, webhook secret unless existing Secrets hold them). */}}
{{- define "gitfleet-control-plane.secretName" -}}
{{ .Release.Name }}
{{- end -}}

{{- define "gitfleet-control-plane.needsSecret" -}}
{{- if or (and .Values.redis.url (not .Values.redis.existingSecret)) (not .Values.apiTokens.existingSecret) (not .Values.secretKey.existingSecret) (and .Values.webhook.secret (not .Values.webhook.existingSecret)) -}}
true
{{- end -}}
{{- end -}}

{{/* A list of host:port (or one comma-separated string, as --set a=b\,c gives), as one comma-separated string. */}}
{{- define "gitfleet-control-plane.hostPorts" -}}
{{- if kindIs "slice" . -}}
{{- join "," (compact .) -}}
{{- else if . -}}
{{- . | nospace -}}
{{- end -}}
{{- end -}}

{{/* host:port agents dial. */}}
{{- define "gitfleet-control-plane.publicAddress" -}}
{{- .Values.grpc.publicAddress | default (printf "%s.%s.svc:%d" .Release.Name .Release.Namespace (int .Values.service.grpcPort)) -}}
{{- end -}}

{{/* Settings that cannot work, refused with a message that says what to do. */}}
{{- define "gitfleet-control-plane.validate" -}}
{{- $sentinels := include "gitfleet-control-plane.hostPorts" .Values.redis.sentinels -}}
{{- $clusterNodes := include "gitfleet-control-plane.hostPorts" .Values.redis.clusterNodes -}}
{{- if and (not .Values.redis.url) (not .Values.redis.existingSecret) (not $sentinels) (not $clusterNodes) -}}
{{- fail "redis.url (redis://host:6379) or redis.existingSecret is required, or redis.sentinels (Redis Sentinel) or redis.clusterNodes (Redis Cluster): the control plane keeps all its state in Redis" -}}
{{- end -}}
{{- if and $sentinels $clusterNodes -}}
{{- fail "redis.sentinels and redis.clusterNodes are both set: a Redis Cluster fails over by itself, without sentinels; set the one your Redis is" -}}
{{- end -}}
{{- range $name, $list := dict "redis.sentinels" $sentinels "redis.clusterNodes" $clusterNodes -}}
{{- range $entry := splitList "," $list -}}
{{- if and $entry (not (regexMatch "^[^:,[:space:]]+:[0-9]{1,5}$" $entry)) -}}
{{- fail (printf "%s: '%s' is not host:port (e.g. redis-0.redis:6379)" $name $entry) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $sentinels (not .Values.redis.sentinelMaster) -}}
{{- fail "redis.sentinelMaster is required with redis.sentinels: the name the sentinels monitor the primary by" -}}
{{- end -}}
{{- if and .Values.redis.auth.sentinelPasswordKey (not .Values.redis.auth.existingSecret) -}}
{{- fail "redis.auth.sentinelPasswordKey is a key of redis.auth.existingSecret: set that Secret's name too" -}}
{{- end -}}
{{- if and (ne (toString .Values.redis.waitReplicas) "") (not (regexMatch "^[0-9]+$" (toString .Values.redis.waitReplicas))) -}}
{{- fail "redis.waitReplicas must be a whole number of replicas (0 turns waiting off), or empty for the default" -}}
{{- end -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.tls.secretName) -}}
{{- fail (printf "replicaCount=%d needs tls.secretName: without it every replica generates its own gRPC certificate and agents can trust only one. Create a kubernetes.io/tls Secret for the host of grpc.publicAddress (kubectl create secret tls NAME --cert=FILE --key=FILE, or cert-manager) and set tls.secretName" (int .Values.replicaCount)) -}}
{{- end -}}
{{- range $name, $value := dict "secretKey.key" .Values.secretKey.key "secretKey.previous" .Values.secretKey.previous -}}
{{- if and $value (not (regexMatch "^([A-Za-z0-9+/_-]{43}=?|[0-9a-fA-F]{64})$" $value)) -}}
{{- fail (printf "%s is not valid: use 32 random bytes in base64 (44 characters) or hex (64 characters), e.g. from openssl rand -base64 32" $name) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.secretKey.previous .Values.secretKey.existingSecret -}}
{{- fail "secretKey.previous is for a key in values: with secretKey.existingSecret, put the previous key in that Secret under secretKey.existingSecretPreviousKey" -}}
{{- end -}}
{{- if and .Values.secretKey.previous (not .Values.secretKey.key) -}}
{{- fail "secretKey.previous needs secretKey.key, the new key: a rotation seals with the new key and still opens with the previous one" -}}
{{- end -}}
{{- if lt (int .Values.replicaCount) 1 -}}
{{- fail "replicaCount must be at least 1" -}}
{{- end -}}
{{- if and .Values.apiTokens.tokens (not .Values.apiTokens.existingSecret) -}}
{{- range $entry := splitList "," .Values.apiTokens.tokens -}}
{{- if and (trim $entry) (not (regexMatch "^(admin|viewer):[^:]+:.{16,}$" (trim $entry))) -}}
{{- fail "apiTokens.tokens is not valid: use role:name:token entries separated by commas, role admin or viewer, tokens of at least 16 characters" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
