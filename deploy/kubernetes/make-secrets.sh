#!/bin/bash
# Makes the certificates and the token of an aia cluster on Kubernetes with
# scripts/make_certs.sh and prints the three Secrets the manifests mount, as YAML
# (kubectl create secret --dry-run=client: no cluster is needed to make them).
#
#   deploy/kubernetes/make-secrets.sh [--namespace=NS] CERTS_DIR > secrets.yaml
#   kubectl apply -f secrets.yaml && kubectl apply -k deploy/kubernetes
#
# CERTS_DIR keeps the CA, the keys and the token (made once, reused later: run it
# again to print the Secrets again). Each Secret holds ca.pem, tls.pem, tls.key and
# token:
#   aia-coordinator-credentials  the service's certificate (names aia-coordinator,
#                                its cluster names, 127.0.0.1 for its probe)
#   aia-worker-credentials       the workers' certificate (name aia-worker: the
#                                coordinator dials pod addresses with
#                                --tls_server_name=aia-worker)
#   aia-client-credentials       the client's certificate (the aia-submit Job)
# Never commit CERTS_DIR or the output: they hold private keys and the token.
set -euo pipefail

namespace=aia
while [[ $# -gt 0 && "$1" == --* ]]; do
  case "$1" in
    --namespace=*) namespace="${1#--namespace=}" ;;
    *) echo "make-secrets.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $# -eq 1 ]] || { sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2; exit 2; }
command -v kubectl > /dev/null || { echo "make-secrets.sh: needs kubectl" >&2; exit 1; }
certs="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"

svc="aia-coordinator.$namespace"
"$root/scripts/make_certs.sh" "$certs" \
  "aia-coordinator=aia-coordinator,$svc,$svc.svc,$svc.svc.cluster.local,localhost,127.0.0.1" \
  "aia-worker=aia-worker,aia-workers.$namespace.svc.cluster.local" \
  "aia-client=aia-client" >&2

for identity in coordinator worker client; do
  echo "---"
  kubectl create secret generic "aia-$identity-credentials" --namespace="$namespace" \
    --from-file=ca.pem="$certs/ca.pem" \
    --from-file=tls.pem="$certs/aia-$identity.pem" \
    --from-file=tls.key="$certs/aia-$identity.key" \
    --from-file=token="$certs/token" \
    --dry-run=client -o yaml
done
