#include "ocsp/request.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tls/ossl.h"

namespace ocspgate::ocsp {
namespace {

// RFC 5019 §5 limit on the whole GET request-target.
constexpr std::size_t max_get_path_bytes = 255;

std::string base64(const std::vector<std::uint8_t>& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// base64 uses A-Z a-z 0-9 + / =; the last three are reserved in a path segment
// (RFC 3986 §2.2), so they are percent-encoded as RFC 6960 Appendix A.1 requires.
std::string url_encode_base64(const std::string& b64) {
    std::string out;
    out.reserve(b64.size() + 16);
    for (char c : b64) {
        switch (c) {
            case '+': out += "%2B"; break;
            case '/': out += "%2F"; break;
            case '=': out += "%3D"; break;
            default: out += c;
        }
    }
    return out;
}

Result<std::vector<std::uint8_t>> to_der(OCSP_REQUEST* req) {
    unsigned char* der = nullptr;
    const int len = i2d_OCSP_REQUEST(req, &der);
    if (len <= 0) return make_error(Errc::tls, tls::drain_errors("cannot encode OCSP request"));
    tls::OsslStringPtr owner(reinterpret_cast<char*>(der));
    return std::vector<std::uint8_t>(der, der + len);
}

}  // namespace

Result<Request> build_request(X509* cert, X509* issuer, bool with_nonce) {
    if (cert == nullptr || issuer == nullptr)
        return make_error(Errc::invalid_argument, "build_request: null certificate");
    tls::clear_errors();
    Request out;
    tls::OcspRequestPtr req(OCSP_REQUEST_new());
    tls::OcspCertIdPtr id(OCSP_cert_to_id(EVP_sha1(), cert, issuer));
    if (!req || !id) return make_error(Errc::tls, tls::drain_errors("cannot build OCSP request"));
    out.id = from_openssl(id.get());
    if (OCSP_request_add0_id(req.get(), id.get()) == nullptr)
        return make_error(Errc::tls, tls::drain_errors("cannot add CertID to OCSP request"));
    id.release();  // owned by the request now
    if (with_nonce) {
        out.nonce.resize(request_nonce_bytes);
        if (RAND_bytes(out.nonce.data(), static_cast<int>(out.nonce.size())) != 1)
            return make_error(Errc::tls, tls::drain_errors("cannot generate OCSP nonce"));
        // Wraps the value in an OCTET STRING inside extnValue, as RFC 8954 §2.1 specifies.
        if (OCSP_request_add1_nonce(req.get(), out.nonce.data(),
                                    static_cast<int>(out.nonce.size())) != 1)
            return make_error(Errc::tls, tls::drain_errors("cannot add OCSP nonce"));
    }
    auto der = to_der(req.get());
    if (!der) return std::move(der).error();
    out.der = std::move(*der);
    return out;
}

std::optional<std::string> get_path(const Request& request, std::string_view base_path) {
    std::string path(base_path);
    if (path.empty() || path.back() != '/') path += '/';
    if (path.front() != '/') path.insert(path.begin(), '/');
    path += url_encode_base64(base64(request.der));
    if (path.size() > max_get_path_bytes) return std::nullopt;
    return path;
}

}  // namespace ocspgate::ocsp
