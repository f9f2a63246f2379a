#!/usr/bin/env bash
# The Kubernetes manifests and the cloud-init user data of deploy/ (docs/deploy.md):
#  - `kubectl kustomize` renders the base (deploy/kubernetes) and every overlay;
#  - deploy/kubernetes/make-secrets.sh makes the three Secrets from fresh test
#    certificates (scripts/make_certs.sh), and no private key is committed;
#  - deploy/kubernetes/validate/validate.mjs checks every rendered object against the
#    Kubernetes schemas (npm kubernetes-models) and the deployment's properties
#    (probes, resources, non-root, read-only root, the NetworkPolicy, the
#    coordinator's --workers, the Job's --server, ...);
#  - the checker fails on deliberately broken overlays, each with its message;
#  - yamllint --strict on deploy/ (deploy/.yamllint); cloud-init schema on the user data.
#
#   bazel test //tests/deploy:manifests_test     (or run the script itself)
#
# The validator's npm packages are installed once (npm ci, bounded by a timeout)
# into $AIA_NPM_CACHE (default /var/tmp/aia-manifests-validate): that needs the npm
# registry the first time. A case whose tool is missing skips with the reason.
set -uo pipefail

here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# The source tree (under Bazel the script is a runfiles link to it; tagged local).
root=$(cd "$here/../.." && pwd)
source "$here/cases.sh"

work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/manifests_test.XXXXXX")
trap 'rm -rf "$work"' EXIT
# A copy of deploy/ and make_certs.sh: the broken overlays go beside the base.
mkdir -p "$work/tree/scripts"
cp -r "$root/deploy" "$work/tree/deploy"
rm -rf "$work/tree/deploy/kubernetes/validate/node_modules"
cp "$root/scripts/make_certs.sh" "$work/tree/scripts/"
k8s=$work/tree/deploy/kubernetes
overlays=(base joined small)

have() { command -v "$1" >/dev/null; }
skip() { echo "SKIP: $1"; exit 77; }

render() {  # render NAME: deploy/kubernetes (base) or overlays/NAME into $work/NAME.yaml
  local dir=$k8s
  [[ $1 == base ]] || dir=$k8s/overlays/$1
  kubectl kustomize "$dir" >"$work/$1.yaml"
}

case_render() {
  have kubectl || skip "kubectl is missing"
  render "$1" || { echo "kubectl kustomize failed for $1"; return 1; }
  local kinds
  kinds=$(grep -c '^kind:' "$work/$1.yaml")
  echo "$1: $kinds objects"
  ((kinds >= 10)) || { echo "$1 renders only $kinds objects"; return 1; }
}

case_secrets() {
  have kubectl || skip "kubectl is missing"
  have openssl || skip "openssl is missing"
  "$k8s/make-secrets.sh" "$work/certs" >"$work/secrets.yaml" || return 1
  local names
  names=$(grep -o 'name: aia-[a-z]*-credentials' "$work/secrets.yaml" | sort | tr '\n' ' ')
  [[ $names == "name: aia-client-credentials name: aia-coordinator-credentials name: aia-worker-credentials " ]] ||
    { echo "unexpected Secrets: $names"; return 1; }
  # Only placeholders may be committed.
  if grep -rl -e '-----BEGIN [A-Z ]*PRIVATE KEY-----' "$root/deploy"; then
    echo "a private key is committed under deploy/"; return 1
  fi
}

install_validator() {
  have node && have npm || skip "node or npm is missing"
  local lock=$k8s/validate/package-lock.json key
  key=$(sha256sum "$lock" | cut -c1-16)
  cache=${AIA_NPM_CACHE:-/var/tmp/aia-manifests-validate}/$key
  if [[ ! -f $cache/installed ]]; then
    mkdir -p "$cache" && cp "$k8s/validate/package.json" "$lock" "$cache/" || return 1
    timeout 300 npm ci --prefix "$cache" --cache "$cache/.npm" --no-audit --no-fund --loglevel=error ||
      skip "npm ci of kubernetes-models and yaml failed (is the npm registry reachable?)"
    touch "$cache/installed"
  fi
  ln -sfn "$cache/node_modules" "$k8s/validate/node_modules"
}

validate() { node "$k8s/validate/validate.mjs" "$@"; }

case_validate() {
  have kubectl || skip "kubectl is missing"
  install_validator || return 1
  [[ -f $work/secrets.yaml ]] || skip "no Secrets (the secrets case did not pass)"
  render "$1" || return 1
  validate --secrets "$work/$1.yaml" "$work/secrets.yaml"
}

# broken NAME EXPECTED PATCH: an overlay of the base with the JSON patch PATCH (a
# YAML list, applied to TARGET) must be rejected with a line containing EXPECTED.
case_broken() {
  local name=$1 expected=$2 target=$3 patch=$4
  have kubectl || skip "kubectl is missing"
  install_validator || return 1
  mkdir -p "$k8s/overlays/broken-$name"
  cat >"$k8s/overlays/broken-$name/kustomization.yaml" <<EOF
resources:
  - ../../base
patches:
  - target: {$target}
    patch: |-
$(sed 's/^/      /' <<<"$patch")
EOF
  render "broken-$name" 2>&1 || { echo "the broken overlay does not render"; return 1; }
  local out status
  out=$(validate "$work/broken-$name.yaml" 2>&1)
  status=$?
  echo "$out"
  ((status == 1)) || { echo "the checker exited $status on the broken copy, not 1"; return 1; }
  grep -qF -- "$expected" <<<"$out" || { echo "no line with: $expected"; return 1; }
}

case_yamllint() {
  have yamllint || skip "yamllint is missing"
  (cd "$root/deploy" && yamllint --strict -c .yamllint .)
}

case_cloud_init() {
  have cloud-init || skip "cloud-init is missing"
  local out status
  out=$(cloud-init schema --config-file "$root/deploy/cloud-init/$1" 2>&1)
  status=$?
  echo "$out"
  ((status == 0)) || return 1
  # Deprecated keys are warnings with exit status 0: none allowed.
  ! grep -qi -e warning -e deprecat <<<"$out" || { echo "cloud-init schema warns"; return 1; }
  grep -q "^Valid cloud-config" <<<"$out"
}

for overlay in "${overlays[@]}"; do run_case "render_$overlay" case_render "$overlay"; done
run_case secrets case_secrets
for overlay in "${overlays[@]}"; do run_case "validate_$overlay" case_validate "$overlay"; done

run_case broken_no_liveness_probe case_broken no-liveness \
  "StatefulSet/aia-worker: container worker: no livenessProbe" "kind: StatefulSet, name: aia-worker" \
  "- op: remove
  path: /spec/template/spec/containers/0/livenessProbe"
run_case broken_health_probe case_broken health-probe \
  "StatefulSet/aia-worker: container worker: readinessProbe checks service aia.v1.Coordinator, not aia.v1.Worker" \
  "kind: StatefulSet" \
  "- op: replace
  path: /spec/template/spec/containers/0/readinessProbe/grpc/service
  value: aia.v1.Coordinator"
run_case broken_root case_broken root \
  "Deployment/aia-coordinator: pod securityContext.runAsNonRoot is not true" "kind: Deployment" \
  "- op: remove
  path: /spec/template/spec/securityContext/runAsNonRoot"
run_case broken_writable_root case_broken writable \
  "Job/aia-submit: container submit: readOnlyRootFilesystem is not true" "kind: Job" \
  "- op: replace
  path: /spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem
  value: false"
run_case broken_no_resources case_broken no-resources \
  "container worker: no resources.limits.memory" "kind: StatefulSet" \
  "- op: remove
  path: /spec/template/spec/containers/0/resources/limits"
run_case broken_network_policy case_broken open-policy \
  "NetworkPolicy/aia-workers: ingress rule 0 admits more than the coordinator's pods" \
  "kind: NetworkPolicy, name: aia-workers" \
  "- op: add
  path: /spec/ingress/0/from/-
  value: {namespaceSelector: {}}"
run_case broken_workers_flag case_broken workers-flag \
  "--workers names Service aia-worker in namespace aia, which is not there" "kind: Deployment" \
  "- op: replace
  path: /spec/template/spec/containers/0/args/4
  value: --workers=dns:///aia-worker.aia.svc.cluster.local:7070"
run_case broken_workers_port case_broken workers-port \
  "is not the workers' --listen container port 7070" "kind: Deployment" \
  "- op: replace
  path: /spec/template/spec/containers/0/args/4
  value: --workers=dns:///aia-workers.aia.svc.cluster.local:9464"
run_case broken_server case_broken server \
  "Job/aia-submit: --server=aia-coordinator:7070 does not reach" "kind: Job" \
  "- op: replace
  path: /spec/template/spec/containers/0/args/4
  value: --server=aia-coordinator:7070"
run_case broken_schema case_broken schema \
  "StatefulSet/aia-worker: schema: data/spec/template/spec/containers/0/ports/0/containerPort must be integer" \
  "kind: StatefulSet" \
  "- op: replace
  path: /spec/template/spec/containers/0/ports/0/containerPort
  value: '7070x'"

run_case yamllint case_yamllint
run_case cloud_init_worker case_cloud_init worker.yaml
run_case cloud_init_worker_join case_cloud_init worker-join.yaml
finish
