#!/usr/bin/env bash
# make-pki.sh OUTDIR — a throwaway ECDSA P-256 test PKI for ocspgate (see README.md here).
#
# Uses only the `openssl` CLI. Every run makes fresh keys and random serials; files are built
# in a scratch directory and renamed into OUTDIR at the end, so a reader never sees a
# half-written file and a rerun leaves the same file set. Never use any of this outside tests.
#
# Environment:
#   OCSP_AIA_URL  AIA id-ad-ocsp URL of client certs and the issuing CA
#                 (default http://127.0.0.1:8888)
#   CRL_DP_URL    CRL Distribution Point of client certs
#                 (default http://127.0.0.1:8889/issuing-ca.crl)
#   PKI_DAYS      validity of leaf certificates in days (default 365; CAs get 10 years)
set -euo pipefail

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi

OCSP_AIA_URL=${OCSP_AIA_URL:-http://127.0.0.1:8888}
CRL_DP_URL=${CRL_DP_URL:-http://127.0.0.1:8889/issuing-ca.crl}
PKI_DAYS=${PKI_DAYS:-365}
CA_DAYS=3650

mkdir -p "$1"
OUT=$(cd "$1" && pwd)
WORK=$(mktemp -d "$OUT/.make-pki.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# --- extension profiles ------------------------------------------------------------------
cat > ext.cnf <<EOF
[req]
distinguished_name = req_dn
[req_dn]

[root_ca]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[issuing_ca]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, digitalSignature, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess    = OCSP;URI:${OCSP_AIA_URL}

[untrusted_ca]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[server]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = IP:127.0.0.1, IP:::1, DNS:localhost
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[client]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess    = OCSP;URI:${OCSP_AIA_URL}
crlDistributionPoints  = URI:${CRL_DP_URL}

[client_noaia]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = URI:${CRL_DP_URL}

# RFC 6960 §4.2.2.2: a delegated responder carries id-kp-OCSPSigning; id-pkix-ocsp-nocheck
# (§4.2.2.2.1) tells clients not to check the responder's own revocation.
[ocsp_signer]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = OCSPSigning
noCheck                = ignored
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ocsp_noeku]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ocsp_selfsigned]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = OCSPSigning
subjectKeyIdentifier   = hash

[crl_ext]
authorityKeyIdentifier = keyid:always
EOF

# --- helpers -----------------------------------------------------------------------------
quiet() {  # quiet CMD...: run CMD, showing its chatter only when it fails
    local log
    if ! log=$("$@" 2>&1); then
        echo "make-pki: failed: $*" >&2
        echo "$log" >&2
        return 1
    fi
}

# A positive, non-zero 64-bit serial in hex, as CAs should pick them (random, RFC 5280 §4.1.2.2).
random_serial() {
    local hex
    hex=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    echo "0x$(( (0x${hex:0:1} & 7) | 1 ))${hex:1}"
}

# issue NAME SUBJECT PROFILE DAYS [CA [KEYFILE]]: NAME.pem with a new P-256 key in NAME.key,
# signed by CA.pem/CA.key, or self-signed without CA. With KEYFILE the certificate reuses
# that key (copied to NAME.key). One `openssl req` per certificate keeps the script fast.
issue() {
    local name=$1 subject=$2 profile=$3 days=$4 ca=${5:-} key=${6:-}
    local args=(-x509 -noenc -subj "$subject" -config ext.cnf -extensions "$profile"
                -set_serial "$(random_serial)" -days "$days" -sha256 -out "$name.pem")
    if [[ -n $key ]]; then
        cp "$key" "$name.key"
        args+=(-key "$name.key")
    else
        args+=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$name.key")
    fi
    if [[ -n $ca ]]; then args+=(-CA "$ca.pem" -CAkey "$ca.key"); fi
    quiet openssl req "${args[@]}"
}

leaf_bundles() {  # leaf_bundles NAME: NAME-chain.pem (leaf + issuing CA), NAME-combined.pem
    cat "$1.pem" issuing-ca.pem > "$1-chain.pem"
    cat "$1.pem" "$1.key" > "$1-combined.pem"
}

# index_row STATUS CERT [REVOCATION]: one `openssl ca` database row (tab-separated):
#   status, expiry (YYMMDDHHMMSSZ), revocation "time[,reason]" or empty, serial (hex), file, DN
index_row() {
    local status=$1 cert=$2 revocation=${3:-} serial enddate subject
    { IFS='=' read -r _ serial; IFS='=' read -r _ enddate; IFS= read -r subject; } < <(
        openssl x509 -in "$cert" -noout -serial -enddate -subject -nameopt compat)
    subject=${subject#subject=}
    printf '%s\t%s\t%s\t%s\tunknown\t%s\n' "$status" \
        "$(date -u -d "$enddate" +%y%m%d%H%M%SZ)" "$revocation" "$serial" "$subject"
}

ca_config() {  # ca_config CA DATABASE -> CA.cnf for `openssl ca` (CRLs, later revocations)
    [ -f "$1.crlnum" ] || echo 01 > "$1.crlnum"  # CRLs carry cRLNumber, as RFC 5280 §5.2.3 requires
    cat > "$1.cnf" <<EOF
[ca]
default_ca = this_ca
[this_ca]
dir              = $OUT
database         = \$dir/$2
certificate      = \$dir/$1.pem
private_key      = \$dir/$1.key
new_certs_dir    = \$dir
serial           = \$dir/$1.srl
default_md       = sha256
default_days     = $PKI_DAYS
default_crl_days = 7
crlnumber        = \$dir/$1.crlnum
policy           = policy_any
crl_extensions   = crl_ext
[policy_any]
commonName = supplied
[crl_ext]
authorityKeyIdentifier = keyid:always
EOF
}

# gen_crl CA DATABASE OUTFILE: a CRL from DATABASE's `R` rows, valid 7 days. Runs against the
# scratch copies (the config names OUTDIR paths, so point it at this directory explicitly).
gen_crl() {
    sed "s|^dir .*|dir = $WORK|" "$1.cnf" > "$1.work.cnf"
    quiet openssl ca -batch -gencrl -config "$1.work.cnf" -out "$3"
    rm -f "$1.work.cnf"
}

# --- CAs ---------------------------------------------------------------------------------
issue root-ca "/O=ocspgate test/CN=ocspgate Test Root CA" root_ca "$CA_DAYS"
issue issuing-ca "/O=ocspgate test/CN=ocspgate Test Issuing CA" issuing_ca "$CA_DAYS" root-ca
cat issuing-ca.pem root-ca.pem > clients-ca.pem
issue untrusted-ca "/O=nobody trusts this/CN=ocspgate Untrusted CA" untrusted_ca "$CA_DAYS"

# --- end entities ------------------------------------------------------------------------
issue server "/O=ocspgate test/CN=localhost" server "$PKI_DAYS" issuing-ca
cat server.pem issuing-ca.pem > server-chain.pem

for name in good revoked unknown; do
    issue "client-$name" "/O=ocspgate test/CN=client-$name" client "$PKI_DAYS" issuing-ca
    leaf_bundles "client-$name"
done
issue client-noaia "/O=ocspgate test/CN=client-noaia" client_noaia "$PKI_DAYS" issuing-ca
leaf_bundles client-noaia

# Load-test clients share one key to save a key generation each; only serial and CN differ.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out client-extra-shared.key
for i in $(seq -w 1 20); do
    issue "client-extra-$i" "/O=ocspgate test/CN=client-extra-$i" client "$PKI_DAYS" \
        issuing-ca client-extra-shared.key
    leaf_bundles "client-extra-$i"
done
rm -f client-extra-shared.key

issue client-untrusted "/O=nobody trusts this/CN=client-untrusted" client "$PKI_DAYS" untrusted-ca

# --- OCSP responders ---------------------------------------------------------------------
issue ocsp-signer "/O=ocspgate test/CN=ocspgate OCSP Signer" ocsp_signer "$PKI_DAYS" issuing-ca
issue ocsp-noeku "/O=ocspgate test/CN=ocspgate OCSP No EKU" ocsp_noeku "$PKI_DAYS" issuing-ca
issue ocsp-selfsigned "/O=ocspgate test/CN=ocspgate OCSP Self-Signed" ocsp_selfsigned "$PKI_DAYS"

# --- revocation databases and CRLs -------------------------------------------------------
revoked_at="$(date -u -d '-1 hour' +%y%m%d%H%M%SZ),keyCompromise"
{
    index_row V server.pem
    index_row V client-good.pem
    index_row R client-revoked.pem "$revoked_at"
    index_row V client-noaia.pem
    for i in $(seq -w 1 20); do index_row V "client-extra-$i.pem"; done
} > index.txt
# The same database before client-revoked was revoked: its CRL is the older one of two.
sed 's/^R\t\([^\t]*\)\t[^\t]*\t/V\t\1\t\t/' index.txt > index-before.txt
index_row V issuing-ca.pem > root-index.txt
index_row R issuing-ca.pem "$revoked_at" > root-index-revoked.txt
for db in index.txt index-before.txt root-index.txt root-index-revoked.txt; do
    echo "unique_subject = no" > "$db.attr"
done

# Each CA's CRLs are numbered in the order made: issuing-ca-before.crl.pem (cRLNumber 1, lists
# nothing) is superseded by issuing-ca.crl.pem (2, lists client-revoked); root-ca-revoked.crl.pem
# (1, lists issuing-ca) by root-ca.crl.pem (2, lists nothing).
ca_config issuing-ca index-before.txt
gen_crl issuing-ca index-before.txt issuing-ca-before.crl.pem
ca_config issuing-ca index.txt
gen_crl issuing-ca index.txt issuing-ca.crl.pem
openssl crl -in issuing-ca.crl.pem -outform DER -out issuing-ca.crl.der
ca_config root-ca root-index-revoked.txt
gen_crl root-ca root-index-revoked.txt root-ca-revoked.crl.pem
openssl crl -in root-ca-revoked.crl.pem -outform DER -out root-ca-revoked.crl.der
ca_config root-ca root-index.txt
gen_crl root-ca root-index.txt root-ca.crl.pem
openssl crl -in root-ca.crl.pem -outform DER -out root-ca.crl.der
# `openssl ca -gencrl` leaves backups of databases it rewrites; they are not ours to ship.
rm -f ./*.old ext.cnf

# --- publish -----------------------------------------------------------------------------
# Keys are world-readable on purpose: they are throwaway, and daemons that drop privileges
# (slapd, containers) must be able to read them.
chmod 644 ./*
mv -f ./* "$OUT/"
echo "make-pki: wrote $(find "$OUT" -maxdepth 1 -type f | wc -l) files to $OUT (OCSP $OCSP_AIA_URL, CRL $CRL_DP_URL)"
