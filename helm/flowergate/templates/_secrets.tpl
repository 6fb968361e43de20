{{/*
Where each secret value comes from, decided once for the Deployment, the Secret and validate.yaml.
A value has exactly one source, so flowergate never sees a variable and its `_FILE` twin together:
  extraEnv  - the user sets the variable (or its _FILE) in extraEnv (flower.env for the broker URL)
  valueFrom - secrets.valueFrom.<value>, an EnvVarSource (e.g. a key of another Secret)
  parts     - the database URL built from secrets.databaseUrlParts
  secret    - a key of secrets.existingSecret, or of the Secret the chart creates
*/}}
{{- define "flowergate.secretSources" -}}
{{- $s := .Values.secrets }}
{{- $own := list }}
{{- range .Values.extraEnv }}{{ $own = append $own .name }}{{ end }}
{{- $flower := list }}
{{- range .Values.flower.env }}{{ $flower = append $flower .name }}{{ end }}
{{- $vars := dict "djangoSecretKey" "FLOWERGATE_DJANGO_SECRET_KEY" "djangoSecretKeyFallbacks" "FLOWERGATE_DJANGO_SECRET_KEY_FALLBACKS" "djangoDatabaseUrl" "FLOWERGATE_DJANGO_DATABASE_URL" "celeryBrokerUrl" "CELERY_BROKER_URL" }}
{{- $out := dict }}
{{- range $key, $var := $vars }}
{{- $names := ternary $flower $own (eq $key "celeryBrokerUrl") }}
{{- if or (has $var $names) (has (printf "%s_FILE" $var) $names) }}
{{- $_ := set $out $key "extraEnv" }}
{{- else if index $s.valueFrom $key }}
{{- $_ := set $out $key "valueFrom" }}
{{- else if and (eq $key "djangoDatabaseUrl") $s.databaseUrlParts.scheme }}
{{- $_ := set $out $key "parts" }}
{{- else }}
{{- $_ := set $out $key "secret" }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* "true" when the chart must create its own Secret: no existingSecret, and a value lives in it. */}}
{{- define "flowergate.createSecret" -}}
{{- $src := include "flowergate.secretSources" . | fromYaml }}
{{- $s := .Values.secrets }}
{{- if not $s.existingSecret }}
{{- if or (eq $src.djangoSecretKey "secret") (eq $src.djangoDatabaseUrl "secret") (and (include "flowergate.sidecar" .) (eq $src.celeryBrokerUrl "secret")) (and $s.djangoSecretKeyFallbacks (eq $src.djangoSecretKeyFallbacks "secret")) }}true{{ end }}
{{- end }}
{{- end }}

{{/* DJANGO_DATABASE_<PART> variables, then the URL Kubernetes composes from them with $(VAR). */}}
{{- define "flowergate.databaseUrlFromParts" -}}
{{- $p := .Values.secrets.databaseUrlParts }}
{{- range $part := list "host" "port" "name" "user" "password" }}
{{- $source := index $p $part }}
{{- if $source }}
- name: DJANGO_DATABASE_{{ upper $part }}
  {{- if hasKey $source "valueFrom" }}
  valueFrom:
    {{- toYaml $source.valueFrom | nindent 4 }}
  {{- else }}
  value: {{ $source.value | toString | quote }}
  {{- end }}
{{- end }}
{{- end }}
{{- $auth := "" }}
{{- if $p.user }}
{{- $auth = ternary "$(DJANGO_DATABASE_USER):$(DJANGO_DATABASE_PASSWORD)@" "$(DJANGO_DATABASE_USER)@" (not (empty $p.password)) }}
{{- end }}
{{- $port := ternary ":$(DJANGO_DATABASE_PORT)" "" (not (empty $p.port)) }}
- name: FLOWERGATE_DJANGO_DATABASE_URL
  value: {{ printf "%s://%s$(DJANGO_DATABASE_HOST)%s/$(DJANGO_DATABASE_NAME)%s" $p.scheme $auth $port (ternary (printf "?%s" $p.options) "" (ne $p.options "")) | quote }}
{{- end }}

{{/* flowergate's secret variables: a file from the Secret, an EnvVarSource, or the composed URL. */}}
{{- define "flowergate.secretEnv" -}}
{{- $src := include "flowergate.secretSources" . | fromYaml }}
{{- $s := .Values.secrets }}
{{- $secretName := include "flowergate.secretName" . }}
{{- if eq $src.djangoSecretKey "secret" }}
- name: FLOWERGATE_DJANGO_SECRET_KEY_FILE
  value: /etc/flowergate/secrets/django-secret-key
{{- else if eq $src.djangoSecretKey "valueFrom" }}
- name: FLOWERGATE_DJANGO_SECRET_KEY
  valueFrom:
    {{- toYaml $s.valueFrom.djangoSecretKey | nindent 4 }}
{{- end }}
{{- if eq $src.djangoDatabaseUrl "secret" }}
- name: FLOWERGATE_DJANGO_DATABASE_URL_FILE
  value: /etc/flowergate/secrets/django-database-url
{{- else if eq $src.djangoDatabaseUrl "valueFrom" }}
- name: FLOWERGATE_DJANGO_DATABASE_URL
  valueFrom:
    {{- toYaml $s.valueFrom.djangoDatabaseUrl | nindent 4 }}
{{- else if eq $src.djangoDatabaseUrl "parts" }}
{{- include "flowergate.databaseUrlFromParts" . }}
{{- end }}
{{- if eq $src.djangoSecretKeyFallbacks "valueFrom" }}
- name: FLOWERGATE_DJANGO_SECRET_KEY_FALLBACKS
  valueFrom:
    {{- toYaml $s.valueFrom.djangoSecretKeyFallbacks | nindent 4 }}
{{- else if and (eq $src.djangoSecretKeyFallbacks "secret") (or $s.existingSecret (include "flowergate.createSecret" .)) }}
- name: FLOWERGATE_DJANGO_SECRET_KEY_FALLBACKS
  valueFrom:
    secretKeyRef:
      name: {{ $secretName }}
      key: {{ $s.keys.djangoSecretKeyFallbacks }}
      optional: true
{{- end }}
{{- end }}

{{/* The Secret's files flowergate reads (`…_FILE`); empty when every value comes from elsewhere. */}}
{{- define "flowergate.secretFiles" -}}
{{- $src := include "flowergate.secretSources" . | fromYaml }}
{{- $keys := .Values.secrets.keys }}
{{- if eq $src.djangoSecretKey "secret" }}
- key: {{ $keys.djangoSecretKey }}
  path: django-secret-key
{{- end }}
{{- if eq $src.djangoDatabaseUrl "secret" }}
- key: {{ $keys.djangoDatabaseUrl }}
  path: django-database-url
{{- end }}
{{- end }}
