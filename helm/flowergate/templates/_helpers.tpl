{{/*
Names, labels and small decisions shared by the templates.
*/}}

{{- define "flowergate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The object name prefix: fullnameOverride, or <release>-<chart> unless the release already contains it. */}}
{{- define "flowergate.fullname" -}}
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

{{/* <fullname>-<suffix>, kept within 63 characters. */}}
{{- define "flowergate.suffixed" -}}
{{- $root := index . 0 }}
{{- $suffix := index . 1 }}
{{- printf "%s-%s" (include "flowergate.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix }}
{{- end }}

{{- define "flowergate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "flowergate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flowergate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The `helm test` pod: deliberately not matched by the Service, PDB or spread selectors. */}}
{{- define "flowergate.testSelectorLabels" -}}
app.kubernetes.io/name: {{ include "flowergate.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: helm-test
{{- end }}

{{- define "flowergate.labels" -}}
helm.sh/chart: {{ include "flowergate.chart" . }}
{{ include "flowergate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: flowergate
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "flowergate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flowergate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "flowergate.secretName" -}}
{{- default (include "flowergate.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* registry/repository[:tag][@digest] from an image block; $.Chart.AppVersion as the default tag. */}}
{{- define "flowergate.imageRef" -}}
{{- $image := index . 0 }}
{{- $defaultTag := index . 1 }}
{{- $repo := ternary (printf "%s/%s" $image.registry $image.repository) $image.repository (ne $image.registry "") }}
{{- if $image.digest }}
{{- printf "%s@%s" $repo $image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default $defaultTag $image.tag) }}
{{- end }}
{{- end }}

{{- define "flowergate.image" -}}
{{- include "flowergate.imageRef" (list .Values.image .Chart.AppVersion) }}
{{- end }}

{{- define "flowergate.sidecar" -}}
{{- if eq .Values.mode "sidecar" }}true{{ end }}
{{- end }}

{{- define "flowergate.replicas" -}}
{{- if ne .Values.replicaCount nil }}{{ .Values.replicaCount }}{{ else if eq .Values.mode "sidecar" }}1{{ else }}2{{ end }}
{{- end }}

{{/* The in-cluster address of flowergate's main port. */}}
{{- define "flowergate.serviceUrl" -}}
{{- printf "http://%s.%s.svc.cluster.local:%v" (include "flowergate.fullname" .) .Release.Namespace .Values.service.port }}
{{- end }}

{{/* Flower's public path prefix without surrounding slashes, as --url_prefix wants it. */}}
{{- define "flowergate.flowerPrefix" -}}
{{- trimAll "/" .Values.flower.urlPrefix }}
{{- end }}

{{/* The path the Ingress/HTTPRoute routes in sidecar mode. */}}
{{- define "flowergate.publicPath" -}}
{{- $path := index . 0 }}
{{- $root := index . 1 }}
{{- if $path }}{{ $path }}{{ else if $root.Values.flower.urlPrefix }}{{ $root.Values.flower.urlPrefix }}{{ else }}/{{ end }}
{{- end }}

{{/*
A tri-state switch (true / false / auto). auto is on when the cluster serves the API
(helm template: pass --api-versions <group/version/Kind>). Renders "true" or nothing.
*/}}
{{- define "flowergate.switch" -}}
{{- $value := index . 0 }}
{{- $root := index . 1 }}
{{- $api := index . 2 }}
{{- if eq (toString $value) "auto" }}
{{- if $root.Capabilities.APIVersions.Has $api }}true{{ end }}
{{- else if $value }}true{{ end }}
{{- end }}

{{- define "flowergate.serviceMonitor" -}}
{{- if and .Values.metrics.enabled (not .Values.metrics.podMonitor.enabled) }}
{{- include "flowergate.switch" (list .Values.metrics.serviceMonitor.enabled . "monitoring.coreos.com/v1/ServiceMonitor") }}
{{- end }}
{{- end }}

{{- define "flowergate.podMonitor" -}}
{{- if and .Values.metrics.enabled .Values.metrics.podMonitor.enabled }}true{{ end }}
{{- end }}

{{- define "flowergate.prometheusRule" -}}
{{- include "flowergate.switch" (list .Values.metrics.prometheusRule.enabled . "monitoring.coreos.com/v1/PrometheusRule") }}
{{- end }}

{{- define "flowergate.traefikMiddleware" -}}
{{- if not (include "flowergate.sidecar" .) }}
{{- include "flowergate.switch" (list .Values.traefik.middleware.enabled . "traefik.io/v1alpha1/Middleware") }}
{{- end }}
{{- end }}

{{- define "flowergate.tokenAuth" -}}
{{- if (dig "kubernetes" "tokenAuth" false .Values.config) }}true{{ end }}
{{- end }}

{{- define "flowergate.shutdownTimeout" -}}
{{- dig "proxy" "shutdownTimeout" 25 .Values.config }}
{{- end }}

{{- define "flowergate.terminationGracePeriod" -}}
{{- if ne .Values.terminationGracePeriodSeconds nil }}
{{- .Values.terminationGracePeriodSeconds }}
{{- else }}
{{- add .Values.preStopDelaySeconds (include "flowergate.shutdownTimeout" . | float64 | ceil | int) 5 }}
{{- end }}
{{- end }}

{{/* The headers flowergate sets on an allow; ingress controllers copy them to the upstream. */}}
{{- define "flowergate.identityHeaders" -}}
{{- $h := dict "user" "X-Auth-Request-User" "email" "X-Auth-Request-Email" "groups" "X-Auth-Request-Groups" }}
{{- $h = merge (deepCopy (dig "headers" dict .Values.config)) $h }}
{{- list $h.user $h.email $h.groups | join "," }}
{{- end }}

{{/* The configuration file: the user's config; the chart-owned keys come from the environment. */}}
{{- define "flowergate.configFile" -}}
{{ toYaml .Values.config }}
{{- end }}

{{/* ingress-nginx external-auth annotations for an Ingress in front of Flower (forward-auth mode). */}}
{{- define "flowergate.nginxAnnotations" -}}
nginx.ingress.kubernetes.io/auth-url: {{ printf "%s/_flowergate/auth/nginx" (include "flowergate.serviceUrl" .) | quote }}
nginx.ingress.kubernetes.io/auth-response-headers: {{ include "flowergate.identityHeaders" . | quote }}
{{- with (dig "django" "loginUrl" "" .Values.config) }}
{{- if include "flowergate.nginxSignIn" $ }}
{{- /* flowergate's sign_in checks the controller's rd target before sending the browser to Django's login. */}}
nginx.ingress.kubernetes.io/auth-signin: "https://$host/_flowergate/sign_in"
{{- else }}
{{- /* No allowed host to check the way back against: straight to Django's login (its next check). */}}
nginx.ingress.kubernetes.io/auth-signin: {{ . | quote }}
nginx.ingress.kubernetes.io/auth-signin-redirect-param: next
{{- end }}
{{- end }}
{{- $n := .Values.ingress.nginx }}
{{- if gt (int $n.authKeepalive) 0 }}
nginx.ingress.kubernetes.io/auth-keepalive: {{ $n.authKeepalive | quote }}
nginx.ingress.kubernetes.io/auth-keepalive-requests: {{ $n.authKeepaliveRequests | quote }}
nginx.ingress.kubernetes.io/auth-keepalive-timeout: {{ $n.authKeepaliveTimeout | quote }}
{{- end }}
{{- if gt (int $n.authCacheSeconds) 0 }}
{{- /* Everything the verdict depends on: the session, a bearer token, the method and the URL. */}}
nginx.ingress.kubernetes.io/auth-cache-key: {{ printf "$cookie_%s$http_authorization$request_method$host$request_uri" (dig "django" "sessionCookieName" "sessionid" .Values.config) | quote }}
nginx.ingress.kubernetes.io/auth-cache-duration: {{ printf "200 %ds" (int $n.authCacheSeconds) | quote }}
{{- end }}
{{- if $n.hygieneSnippets }}
{{- /* The README's "Keep Flower's side clean" nginx recipe, verbatim (test/helm compares them). */}}
nginx.ingress.kubernetes.io/configuration-snippet: |
  {{- .Files.Get "files/nginx-hygiene-location.conf" | trimSuffix "\n" | nindent 2 }}
nginx.ingress.kubernetes.io/server-snippet: |
  {{- .Files.Get "files/nginx-hygiene-server.conf" | trimSuffix "\n" | replace "http://flowergate.flower.svc.cluster.local:4180" (include "flowergate.serviceUrl" .) | nindent 2 }}
{{- end }}
{{- end }}

{{/*
The address both listeners bind: 0.0.0.0 (IPv4), or [::] for IPv6 and dual stack (Node accepts IPv4
on [::] as mapped addresses where the kernel allows, which is Linux's default).
*/}}
{{- define "flowergate.listenHost" -}}
{{- if .Values.listen.address }}
{{- ternary (printf "[%s]" .Values.listen.address) .Values.listen.address (contains ":" .Values.listen.address) }}
{{- else if eq .Values.listen.ipFamily "IPv4" }}0.0.0.0
{{- else }}[::]
{{- end }}
{{- end }}

{{/*
FLOWERGATE_ALLOWED_HOSTS when config.allowedHosts is not set: the public host names the chart
routes (Ingress host, HTTPRoute host names), so any other Host is refused before any lookup.
Empty when the chart routes no named host.
*/}}
{{- define "flowergate.allowedHosts" -}}
{{- if not (hasKey .Values.config "allowedHosts") }}
{{- $hosts := list }}
{{- if and .Values.ingress.enabled .Values.ingress.host }}
{{- $hosts = append $hosts (ternary (trimPrefix "*" .Values.ingress.host) .Values.ingress.host (hasPrefix "*." .Values.ingress.host)) }}
{{- end }}
{{- if .Values.httpRoute.enabled }}
{{- range .Values.httpRoute.hostnames }}
{{- $hosts = append $hosts (ternary (trimPrefix "*" .) . (hasPrefix "*." .)) }}
{{- end }}
{{- end }}
{{- $hosts | uniq | join "," }}
{{- end }}
{{- end }}

{{/* Cluster-scoped objects are shared by every namespace: <namespace>-<fullname>-<suffix>, within 63 characters. */}}
{{- define "flowergate.clusterScopedName" -}}
{{- $root := index . 0 }}
{{- $suffix := index . 1 }}
{{- $base := printf "%s-%s" $root.Release.Namespace (include "flowergate.fullname" $root) }}
{{- if gt (add (len $base) (len $suffix) 1) 63 }}
{{- $base = printf "%s-%s" ($base | trunc (int (sub 53 (len $suffix))) | trimSuffix "-") ($base | sha256sum | trunc 8) }}
{{- end }}
{{- printf "%s-%s" $base $suffix }}
{{- end }}

{{/*
The name of an object put in another namespace (the dashboard in Grafana's, a SecurityPolicy next to
its routes): qualified by the release namespace there, since releases from several namespaces meet.
*/}}
{{- define "flowergate.nameIn" -}}
{{- $root := index . 0 }}
{{- $namespace := index . 1 }}
{{- $suffix := index . 2 }}
{{- if eq $namespace $root.Release.Namespace }}
{{- if $suffix }}{{ include "flowergate.suffixed" (list $root $suffix) }}{{ else }}{{ include "flowergate.fullname" $root }}{{ end }}
{{- else }}
{{- include "flowergate.clusterScopedName" (list $root (default "" $suffix)) | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The NetworkPolicy peers on the main port: networkPolicy.ingressPresets, then ingressFrom. */}}
{{- define "flowergate.ingressPeers" -}}
{{- $presets := dict
  "ingress-nginx" (list "ingress-nginx" (dict "app.kubernetes.io/name" "ingress-nginx"))
  "traefik" (list "traefik" (dict "app.kubernetes.io/name" "traefik"))
  "traefik-k3s" (list "kube-system" (dict "app.kubernetes.io/name" "traefik"))
  "envoy-gateway" (list "envoy-gateway-system" (dict "app.kubernetes.io/component" "proxy" "app.kubernetes.io/managed-by" "envoy-gateway"))
  "istio" (list "istio-system" (dict "istio" "ingressgateway")) }}
{{- $peers := list }}
{{- range .Values.networkPolicy.ingressPresets }}
{{- $p := index $presets . }}
{{- $peers = append $peers (dict "namespaceSelector" (dict "matchLabels" (dict "kubernetes.io/metadata.name" (index $p 0))) "podSelector" (dict "matchLabels" (index $p 1))) }}
{{- end }}
{{- concat $peers .Values.networkPolicy.ingressFrom | toYaml }}
{{- end }}

{{/*
FLOWERGATE_URL_PREFIX. Sidecar: flower.urlPrefix, which the chart also gives Flower. forward-auth:
nothing when config.urlPrefix is set (the file has it); otherwise the path the chart routes to your
Flower (ingress.path, or httpRoute.path with externalAuth), since Flower served under /flower runs
with --url_prefix=flower; "/" or no route: none.
*/}}
{{- define "flowergate.urlPrefix" -}}
{{- if include "flowergate.sidecar" . }}
{{- .Values.flower.urlPrefix }}
{{- else if not (dig "urlPrefix" "" .Values.config) }}
{{- $path := "" }}
{{- if .Values.ingress.enabled }}
{{- $path = .Values.ingress.path }}
{{- else if and .Values.httpRoute.enabled .Values.httpRoute.externalAuth }}
{{- $path = .Values.httpRoute.path }}
{{- end }}
{{- trimSuffix "/" $path }}
{{- end }}
{{- end }}

{{/* The prefix flowergate applies, however it is set: "" or like /flower. */}}
{{- define "flowergate.effectiveUrlPrefix" -}}
{{- $prefix := trimAll "/" (default (include "flowergate.urlPrefix" .) (dig "urlPrefix" "" .Values.config)) }}
{{- if $prefix }}/{{ $prefix }}{{ end }}
{{- end }}

{{/*
"true" when ingress-nginx's auth-signin goes through flowergate's /_flowergate/sign_in: a login URL,
and an allowed Flower host for sign_in to check the way back against (the Ingress host the chart
routes, or config.allowedHosts).
*/}}
{{- define "flowergate.nginxSignIn" -}}
{{- if and (dig "django" "loginUrl" "" .Values.config) (eq .Values.ingress.controller "ingress-nginx") }}
{{- if or (and .Values.ingress.enabled .Values.ingress.host) (dig "allowedHosts" list .Values.config) }}true{{ end }}
{{- end }}
{{- end }}
