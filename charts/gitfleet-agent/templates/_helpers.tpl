{{- define "gitfleet-agent.labels" -}}
app.kubernetes.io/name: gitfleet-agent
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{- define "gitfleet-agent.selector" -}}
app.kubernetes.io/name: gitfleet-agent
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
