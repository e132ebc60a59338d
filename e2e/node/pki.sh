#!/usr/bin/env bash
# The node's certificates and kubeconfigs, made with openssl (EC P-256, one year):
#
#   pki.sh DIR
#
# DIR/ca.{crt,key}            cluster CA: API server serving and every client certificate
# DIR/front-proxy-ca.{crt,key} aggregation layer CA, DIR/front-proxy-client.{crt,key}
# DIR/apiserver.{crt,key}     serving: the node IP (= the kubernetes Service IP) and the Service names
# DIR/sa.{key,pub}            service-account token signing
# DIR/<user>.{crt,key} and DIR/<user>.kubeconfig for admin (system:masters), the controller
#   manager, the scheduler, the kubelet (system:node:NAME) and the API server's kubelet client.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

dir=${1:?usage: pki.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

# SEC1 ("EC PRIVATE KEY"): fabric8's kubeconfig reader takes a PKCS#8 EC key for RSA ("Invalid DER").
key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null; }

ca() {
  key "$1"
  openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 365 -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

# cert CA NAME SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES]
cert() {
  local ca=$1 name=$2 subject=$3 usage=$4 sans=${5:-}
  key "$name"
  {
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n'
    printf 'extendedKeyUsage=%s\n' "$usage"
    [[ -z "$sans" ]] || printf 'subjectAltName=%s\n' "$sans"
  } >"$name.ext"
  openssl req -new -key "$name.key" -subj "$subject" 2>/dev/null \
    | openssl x509 -req -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days 365 \
      -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.ext"
}

kubeconfig() {
  local name=$1 user=$2
  cat >"$name.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: $NODE_NAME
  cluster:
    server: https://$NODE_IP:443
    certificate-authority: $dir/ca.crt
users:
- name: $user
  user:
    client-certificate: $dir/$name.crt
    client-key: $dir/$name.key
contexts:
- name: $NODE_NAME
  context: {cluster: $NODE_NAME, user: $user}
current-context: $NODE_NAME
KUBECONFIG
}

ca ca vmpower-node-ca
ca front-proxy-ca vmpower-node-front-proxy-ca
cert ca apiserver /CN=kube-apiserver serverAuth \
  "IP:$NODE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert front-proxy-ca front-proxy-client /CN=front-proxy-client clientAuth
cert ca apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
cert ca admin "/O=system:masters/CN=vmpower-node-admin" clientAuth
cert ca controller-manager /CN=system:kube-controller-manager clientAuth
cert ca scheduler /CN=system:kube-scheduler clientAuth
cert ca kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
for user in admin controller-manager scheduler kubelet; do
  kubeconfig "$user" "$user"
done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sa.key 2>/dev/null
openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
chmod 644 ./*.crt ./*.kubeconfig sa.pub
