#!/usr/bin/env bash
# Regenerates the seed corpora under tests/fuzz/corpus/ that come from real tools: OCSP
# requests and responses from `openssl ocsp` and CRLs from tests/pki/make-pki.sh. The SIP,
# LDAP and hand-written seeds next to them are checked in as they are and left alone.
# Keys are fresh on every run, so rerunning changes the bytes but not what they exercise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$root/tests/pki/make-pki.sh" "$work/pki" >/dev/null
P=$work/pki
ocsp_dir=$here/corpus/fuzz_ocsp_response
crl_dir=$here/corpus/fuzz_crl
config_dir=$here/corpus/fuzz_config
mkdir -p "$ocsp_dir" "$crl_dir" "$config_dir"

# respond NAME CLIENT SIGNER [EXTRA...]: one response from the CLI responder, no sockets
# (-reqin/-respout), written as corpus/fuzz_ocsp_response/NAME.der.
# Extra arguments go to the responder (e.g. -rcid sha256).
respond() {
    local name=$1 client=$2 signer=$3
    shift 3
    respond_to "$name" "-cert $P/$client.pem" "$signer" -nmin 5 "$@"
}
# respond_to NAME REQUEST-OPTIONS SIGNER [EXTRA...]: the same for a request built with
# REQUEST-OPTIONS (word-split: -cert A -cert B for several certificates, -sha256 before the
# -cert it applies to) and no nonce, as pre-signing responders answer; no -nmin unless given.
respond_to() {
    local name=$1 request=$2 signer=$3
    shift 3
    # shellcheck disable=SC2086 # REQUEST-OPTIONS is a list of options
    openssl ocsp -issuer "$P/issuing-ca.pem" $request -no_nonce -reqout "$work/$name.req" 2>/dev/null
    openssl ocsp -index "$P/index.txt" -CA "$P/issuing-ca.pem" -rsigner "$P/$signer.pem" \
        -rkey "$P/$signer.key" -reqin "$work/$name.req" -respout "$ocsp_dir/$name.der" "$@" 2>/dev/null
}
respond good-delegated client-good ocsp-signer
respond revoked-delegated client-revoked ocsp-signer
respond unknown-delegated client-unknown ocsp-signer
respond good-by-ca client-good issuing-ca
respond good-sha256-certid client-good ocsp-signer -rcid sha256
respond good-by-key client-good ocsp-signer -resp_key_id
respond good-no-certs client-good ocsp-signer -resp_no_certs
# The shapes of #19 point 3 that tests/integration/test_revocation_shapes.py serves to the
# binary: several SingleResponses in either order, a SHA-256 CertID pre-signed for a SHA-256
# request, extra certificates (-rother) with the responder named by key, no nextUpdate.
respond_to several-ours-first "-cert $P/client-good.pem -cert $P/client-revoked.pem" ocsp-signer -nmin 5
respond_to several-ours-last "-cert $P/client-revoked.pem -cert $P/client-good.pem" ocsp-signer -nmin 5
respond_to sha256-request-presigned "-sha256 -cert $P/client-good.pem" ocsp-signer -nmin 5
cat "$P/issuing-ca.pem" "$P/root-ca.pem" >"$work/other.pem"
respond_to extra-certs-by-key "-cert $P/client-good.pem" ocsp-signer -nmin 5 -rother "$work/other.pem" -resp_key_id
respond_to no-next-update "-cert $P/client-good.pem" issuing-ca -resp_no_certs
# Status-only responses: OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED }, no
# responseBytes, as `openssl ocsp` and CA responders send them.
printf '\x30\x03\x0a\x01\x01' >"$ocsp_dir/malformed-request.der"
printf '\x30\x03\x0a\x01\x02' >"$ocsp_dir/internal-error.der"
printf '\x30\x03\x0a\x01\x03' >"$ocsp_dir/try-later.der"
printf '\x30\x03\x0a\x01\x05' >"$ocsp_dir/sig-required.der"
printf '\x30\x03\x0a\x01\x06' >"$ocsp_dir/unauthorized.der"

cp "$P/issuing-ca.crl.der" "$crl_dir/issuing-ca.der"
cp "$P/issuing-ca.crl.pem" "$crl_dir/issuing-ca.pem"
cp "$P/root-ca.crl.pem" "$crl_dir/root-ca-empty.pem"
cp "$P/issuing-ca-before.crl.pem" "$crl_dir/issuing-ca-numbered-1.pem"
# A partition: issuingDistributionPoint naming the clients' distribution point, users only.
awk '/^\[crl_ext\]/ { skip = 1; next } /^\[/ { skip = 0 } !skip' "$P/issuing-ca.cnf" >"$work/partition.cnf"
cat >>"$work/partition.cnf" <<'EOF2'
[crl_ext]
authorityKeyIdentifier = keyid:always
issuingDistributionPoint = critical, @idp
[idp]
fullname = URI:http://127.0.0.1:8889/issuing-ca.crl
onlyuser = TRUE
EOF2
openssl ca -batch -gencrl -config "$work/partition.cnf" -out "$crl_dir/issuing-ca-partition.pem" 2>/dev/null
# A delta CRL on complete CRL 1, limited to two reasons, announcing further deltas, that
# takes client-good off hold (removeFromCRL); and the complete CRL that has it on hold.
crl_with() {  # crl_with NAME DATABASE-ROWS EXTENSION-LINES...: corpus/fuzz_crl/NAME.pem
    local name=$1 rows=$2
    shift 2
    printf '%s\n' "$rows" >"$work/$name.index"
    echo "unique_subject = no" >"$work/$name.index.attr"
    awk '/^\[crl_ext\]/ { skip = 1; next } /^\[/ { skip = 0 } !skip' "$P/issuing-ca.cnf" |
        sed "s|^database .*|database = $work/$name.index|" >"$work/$name.cnf"
    printf '[crl_ext]\nauthorityKeyIdentifier = keyid:always\n' >>"$work/$name.cnf"
    printf '%s\n' "$@" >>"$work/$name.cnf"
    openssl ca -batch -gencrl -config "$work/$name.cnf" -out "$crl_dir/$name.pem" 2>/dev/null
}
good_row() {  # good_row REVOCATION: client-good's row in $P/index.txt, revoked an hour ago
    awk -v rev="$(date -u -d '-1 hour' +%y%m%d%H%M%SZ),$1" -F'\t' -v OFS='\t' \
        '/CN=client-good$/ { $1 = "R"; $3 = rev; print }' "$P/index.txt"
}
crl_with issuing-ca-on-hold "$(good_row certificateHold,holdInstructionReject)" \
    "freshestCRL = URI:http://127.0.0.1:8889/issuing-ca-delta.crl"
crl_with issuing-ca-delta-by-reason "$(good_row removeFromCRL)" \
    "deltaCRL = critical, ASN1:INTEGER:1" \
    "freshestCRL = URI:http://127.0.0.1:8889/issuing-ca-delta.crl" \
    "issuingDistributionPoint = critical, @idp" "[idp]" "onlysomereasons = keyCompromise, CACompromise"

cp "$root/conf/ocspgate.toml" "$config_dir/ocspgate.toml"
