#!/bin/bash
# Makes the certificates and the token of an aia cluster with Debian's openssl.
#
#   scripts/make_certs.sh [--days=N] [--expired] OUT_DIR HOST[=NAME,NAME...]...
#
# In OUT_DIR:
#   ca.pem, ca.key        the cluster's certificate authority (made once: an existing
#                         ca.pem/ca.key pair is reused, so hosts can be added later)
#   HOST.pem, HOST.key    one certificate per HOST, signed by the CA, usable both as a
#                         server certificate (aia_worker --tls_cert/--tls_key) and as a
#                         client certificate (aia run --tls_cert/--tls_key). Its subject
#                         alternative names are the NAMEs after '=' (IPv4 or IPv6
#                         addresses become IP names, anything else DNS names), or HOST
#                         itself when none are given.
#   token                 a random bearer token (64 hex digits; made once)
# Private keys and the token are mode 0600; give them to their machine only.
#
# Options:
#   --days=N    validity of the host certificates in days (default 825; the CA: 3650)
#   --expired   make the host certificates already expired (valid for one day, a year
#               ago): for tests of the expiry error
#
# Examples:
#   scripts/make_certs.sh certs coordinator worker0=worker0.example,10.0.0.5 \
#       worker1=worker1.example,10.0.0.6
#   scripts/make_certs.sh certs localhost=localhost,127.0.0.1,::1
#   scripts/make_certs.sh other-ca intruder=localhost,127.0.0.1   # another CA
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

days=825
expired=0
while [[ $# -gt 0 && "$1" == --* ]]; do
  case "$1" in
    --days=*) days="${1#--days=}" ;;
    --expired) expired=1 ;;
    --help | -h) usage ;;
    *) echo "make_certs.sh: unknown option $1" >&2; usage ;;
  esac
  shift
done
[[ $# -ge 2 ]] || usage
[[ "$days" =~ ^[1-9][0-9]*$ ]] || { echo "make_certs.sh: --days must be a positive integer" >&2; exit 2; }
command -v openssl > /dev/null || { echo "make_certs.sh: needs openssl (apt-get install openssl)" >&2; exit 1; }

out="$1"
shift
mkdir -p "$out"
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The CA: an EC P-256 key and a self-signed certificate allowed to sign host
# certificates only (pathlen 0).
if [[ -f "$out/ca.pem" && -f "$out/ca.key" ]]; then
  echo "make_certs.sh: reusing the CA in $out/ca.pem"
else
  openssl ecparam -name prime256v1 -genkey -noout -out "$out/ca.key" 2> /dev/null
  openssl req -new -x509 -sha256 -key "$out/ca.key" -out "$out/ca.pem" -days 3650 \
    -subj "/O=aia/CN=aia cluster CA $(date -u +%Y%m%dT%H%M%SZ)-$RANDOM" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash"
  chmod 0644 "$out/ca.pem"
  echo "make_certs.sh: made the CA $out/ca.pem"
fi

# `openssl ca` (rather than `openssl x509 -req`) because it takes explicit start and
# end dates: OpenSSL 3.0's x509 cannot date a certificate in the past.
cat > "$work/ca.cnf" << EOF
[ca]
default_ca = aia_ca
[aia_ca]
database = $work/index.txt
serial = $work/serial
new_certs_dir = $work
default_md = sha256
policy = aia_policy
copy_extensions = none
unique_subject = no
[aia_policy]
commonName = supplied
organizationName = optional
EOF
: > "$work/index.txt"
echo 01 > "$work/serial"

if [[ $expired -eq 1 ]]; then
  start="$(date -u -d '-366 days' +%Y%m%d%H%M%SZ)"
  end="$(date -u -d '-365 days' +%Y%m%d%H%M%SZ)"
else
  start="$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)"
  end="$(date -u -d "+$days days" +%Y%m%d%H%M%SZ)"
fi

is_ip() {
  [[ "$1" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ || "$1" == *:* ]]
}

for spec in "$@"; do
  host="${spec%%=*}"
  names="$host"
  [[ "$spec" == *=* ]] && names="${spec#*=}"
  if [[ ! "$host" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
    echo "make_certs.sh: bad host name '$host' (letters, digits, '.', '_', '-')" >&2
    exit 2
  fi
  san=""
  IFS=',' read -r -a list <<< "$names"
  for name in "${list[@]}"; do
    [[ -n "$name" ]] || continue
    if is_ip "$name"; then san+="${san:+,}IP:$name"; else san+="${san:+,}DNS:$name"; fi
  done
  [[ -n "$san" ]] || { echo "make_certs.sh: '$spec' has no names" >&2; exit 2; }
  cat > "$work/$host.ext" << EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  openssl ecparam -name prime256v1 -genkey -noout -out "$out/$host.key" 2> /dev/null
  openssl req -new -sha256 -key "$out/$host.key" -subj "/O=aia/CN=$host" -out "$work/$host.csr"
  openssl ca -batch -config "$work/ca.cnf" -cert "$out/ca.pem" -keyfile "$out/ca.key" \
    -in "$work/$host.csr" -out "$work/$host.pem" -extfile "$work/$host.ext" -notext \
    -rand_serial -startdate "$start" -enddate "$end" 2> "$work/ca.log" ||
    { cat "$work/ca.log" >&2; exit 1; }
  mv "$work/$host.pem" "$out/$host.pem"
  chmod 0644 "$out/$host.pem"
  chmod 0600 "$out/$host.key"
  echo "make_certs.sh: made $out/$host.pem ($san)$([[ $expired -eq 1 ]] && echo ', expired')"
done

if [[ ! -f "$out/token" ]]; then
  openssl rand -hex 32 > "$out/token"
  chmod 0600 "$out/token"
  echo "make_certs.sh: made the token $out/token"
fi
