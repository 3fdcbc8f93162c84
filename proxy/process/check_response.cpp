#include "proxy/process/check_response.h"

#include <openssl/ocsp.h>

#include <chrono>
#include <span>
#include <variant>

#include "base/verdict.h"
#include "ocsp/asn1_time.h"
#include "ocsp/cert_id.h"
#include "ocsp/cert_status.h"
#include "ocsp/response.h"
#include "tls/certificate.h"

namespace ocspgate::proxy::process {
namespace {

using Json = nlohmann::ordered_json;

std::string time_text(const ASN1_GENERALIZEDTIME* t) {
    auto point = ocsp::to_time_point(t);
    return point ? ocsp::to_iso8601(*point) : "";
}

std::string hex(const unsigned char* data, int length) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (int i = 0; i < length; ++i) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 15];
    }
    return out;
}

// The fields read straight from the DER, whether or not the response validates: they are
// what an operator compares with the responder's own logs.
void add_raw_fields(Json& out, const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    tls::OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
    if (!response) {
        tls::clear_errors();
        return;
    }
    out["response_status"] = OCSP_response_status_str(OCSP_response_status(response.get()));
    tls::OcspBasicRespPtr basic(OCSP_response_get1_basic(response.get()));
    if (!basic) {
        tls::clear_errors();
        return;
    }
    out["produced_at"] = time_text(OCSP_resp_get0_produced_at(basic.get()));
    const ASN1_OCTET_STRING* key_hash = nullptr;
    const X509_NAME* name = nullptr;
    if (OCSP_resp_get0_id(basic.get(), &key_hash, &name) == 1) {
        if (name != nullptr) {
            tls::BioPtr bio(BIO_new(BIO_s_mem()));
            X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
            char* text = nullptr;
            long length = BIO_get_mem_data(bio.get(), &text);
            out["responder_id"] = "byName " + std::string(text, static_cast<std::size_t>(length));
        } else if (key_hash != nullptr) {
            out["responder_id"] = "byKey " + hex(ASN1_STRING_get0_data(key_hash), ASN1_STRING_length(key_hash));
        }
    }
    out["nonce_present"] = OCSP_BASICRESP_get_ext_by_NID(basic.get(), NID_id_pkix_OCSP_Nonce, -1) >= 0;
    tls::clear_errors();
}

void add_answer(Json& out, const ocsp::Answer& answer) {
    const char* status = ocsp::to_string(answer.status);
    ChainVerdict verdict = answer.status == ocsp::CertStatus::good      ? ChainVerdict::accept
                           : answer.status == ocsp::CertStatus::revoked ? ChainVerdict::revoked
                                                                        : ChainVerdict::unknown;
    out["verdict"] = to_string(verdict);
    out["revocation"] = status;
    if (answer.status == ocsp::CertStatus::revoked) {
        const char* reason = ocsp::crl_reason_name(answer.revocation_reason);
        out["revocation_reason"] = reason ? std::string(reason) : std::to_string(answer.revocation_reason);
        if (answer.revocation_time) out["revocation_time"] = ocsp::to_iso8601(*answer.revocation_time);
    }
    add_response_fields(out, answer);
}

}  // namespace

void add_response_fields(Json& out, const ocsp::Answer& answer) {
    out["this_update"] = ocsp::to_iso8601(answer.this_update);
    out["next_update"] = answer.next_update ? ocsp::to_iso8601(*answer.next_update) : "";
    if (answer.produced_at) out["produced_at"] = ocsp::to_iso8601(*answer.produced_at);
    out["signer"] = ocsp::to_string(answer.signer);
    out["nonce"] = ocsp::to_string(answer.nonce);
}

Json judge_saved_response(const std::string& der, X509* cert, X509* issuer, const ocsp::OcspSettings& settings) {
    Json out;
    // The verdict first, as the online check prints it; set below (ordered_json keeps the place).
    out["verdict"] = to_string(ChainVerdict::undetermined);
    out["revocation"] = cert_status::undetermined;
    out["subject"] = tls::subject_of(cert);
    out["serial"] = tls::serial_hex_of(cert);
    out["revocation_method"] = "ocsp";
    out["revocation_source"] = "response file";
    auto id = ocsp::make_cert_id(cert, issuer);
    if (!id) {
        out["revocation_detail"] = id.error().message;
        return out;
    }
    ocsp::ValidationInput in;
    in.cert = cert;
    in.issuer = issuer;
    in.id = *id;
    in.now = std::chrono::system_clock::now();
    in.clock_skew = std::chrono::duration_cast<std::chrono::seconds>(settings.clock_skew);
    in.max_age = std::chrono::duration_cast<std::chrono::seconds>(settings.max_age);
    in.nonce_required = false;  // nothing was sent with a saved response
    if (settings.max_response_age)
        in.max_response_age = std::chrono::duration_cast<std::chrono::seconds>(*settings.max_response_age);
    auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(der.data()), der.size());
    ocsp::Validation result = ocsp::validate_response(bytes, in);
    if (const auto* answer = std::get_if<ocsp::Answer>(&result)) {
        add_answer(out, *answer);
    } else {
        const auto& failure = std::get<ocsp::ResponseFailure>(result);
        out["revocation_detail"] = std::string(ocsp::to_string(failure.kind)) + ": " + failure.detail;
    }
    add_raw_fields(out, der);
    return out;
}

}  // namespace ocspgate::proxy::process
