#include "ocsp/aia.h"

#include <openssl/x509v3.h>

#include "tls/ossl.h"

namespace ocspgate::ocsp {
namespace {

void append_uris(const GENERAL_NAMES* names, std::vector<std::string>& out) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
        if (name->type != GEN_URI) continue;
        const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
        out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                         static_cast<std::size_t>(ASN1_STRING_length(uri)));
    }
}

// The URIs of the distribution points that name their own location in full (fullName), for
// every reason and with no separate CRL issuer: the ones whose CRL covers the certificate as
// crl.h can judge it.
std::vector<std::string> point_urls(STACK_OF(DIST_POINT)* raw) {
    tls::DistPointStackPtr points(raw);
    std::vector<std::string> out;
    for (int i = 0; i < sk_DIST_POINT_num(points.get()); ++i) {
        const DIST_POINT* point = sk_DIST_POINT_value(points.get(), i);
        if (point->CRLissuer != nullptr || point->reasons != nullptr) continue;
        if (point->distpoint == nullptr || point->distpoint->type != 0) continue;  // 0: fullName
        append_uris(point->distpoint->name.fullname, out);
    }
    return out;
}

}  // namespace

std::vector<std::string> ocsp_urls(X509* cert) {
    std::vector<std::string> out;
    if (cert == nullptr) return out;
    tls::OcspUrlStackPtr urls(X509_get1_ocsp(cert));
    for (int i = 0; i < sk_OPENSSL_STRING_num(urls.get()); ++i)
        out.emplace_back(sk_OPENSSL_STRING_value(urls.get(), i));
    return out;
}

std::vector<std::string> crl_urls(X509* cert) {
    if (cert == nullptr) return {};
    return point_urls(static_cast<STACK_OF(DIST_POINT)*>(
        X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr)));
}

std::vector<std::string> freshest_crl_urls(X509* cert) {
    if (cert == nullptr) return {};
    return point_urls(static_cast<STACK_OF(DIST_POINT)*>(X509_get_ext_d2i(cert, NID_freshest_crl, nullptr, nullptr)));
}

std::vector<std::string> freshest_crl_urls(X509_CRL* crl) {
    if (crl == nullptr) return {};
    return point_urls(
        static_cast<STACK_OF(DIST_POINT)*>(X509_CRL_get_ext_d2i(crl, NID_freshest_crl, nullptr, nullptr)));
}

}  // namespace ocspgate::ocsp
