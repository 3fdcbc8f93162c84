#include "ocsp/response.h"

#include <fmt/format.h>
#include <openssl/err.h>

#include <algorithm>
#include <climits>
#include <unordered_map>

#include "ocsp/asn1_time.h"
#include "ocsp/basic_response.h"
#include "ocsp/error_queue.h"
#include "ocsp/signer.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp {
namespace {

ResponseFailure fail(ResponseError kind, std::string detail) {
    return ResponseFailure{kind, std::move(detail)};
}

std::variant<tls::OcspResponsePtr, ResponseFailure> parse(std::span<const std::uint8_t> der) {
    if (der.empty()) return fail(ResponseError::malformed, "empty OCSP response");
    if (der.size() > static_cast<std::size_t>(LONG_MAX))
        return fail(ResponseError::malformed, "OCSP response too large");
    const unsigned char* p = der.data();
    tls::OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
    if (!response)
        return fail(ResponseError::malformed, tls::drain_errors("not a DER OCSPResponse"));
    if (p != der.data() + der.size())
        return fail(ResponseError::malformed,
                    fmt::format("{} bytes after the OCSPResponse", der.data() + der.size() - p));
    return response;
}

//   OCSPResponseStatus ::= ENUMERATED {
//       successful (0), malformedRequest (1), internalError (2), tryLater (3),
//       --(4) is not used
//       sigRequired (5), unauthorized (6) }
std::optional<ResponseFailure> status_failure(int status) {
    switch (status) {
        case OCSP_RESPONSE_STATUS_SUCCESSFUL: return std::nullopt;
        case OCSP_RESPONSE_STATUS_MALFORMEDREQUEST:
            return fail(ResponseError::malformed_request, "responder says malformedRequest");
        case OCSP_RESPONSE_STATUS_INTERNALERROR:
            return fail(ResponseError::internal_error, "responder says internalError");
        case OCSP_RESPONSE_STATUS_TRYLATER:
            return fail(ResponseError::try_later, "responder says tryLater");
        case OCSP_RESPONSE_STATUS_SIGREQUIRED:
            return fail(ResponseError::sig_required, "responder says sigRequired");
        case OCSP_RESPONSE_STATUS_UNAUTHORIZED:
            return fail(ResponseError::unauthorized, "responder says unauthorized");
        default:
            return fail(ResponseError::malformed,
                        fmt::format("undefined responseStatus {}", status));
    }
}

// RFC 6960 §4.4: unrecognized extensions are ignored unless marked critical. The nonce is the
// only one we understand.
std::optional<ResponseFailure> critical_extension_failure(const char* where, X509_EXTENSION* ext) {
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (X509_EXTENSION_get_critical(ext) == 0 || nid == NID_id_pkix_OCSP_Nonce) return std::nullopt;
    return fail(ResponseError::malformed,
                fmt::format("unsupported critical {} extension {}", where,
                            nid == NID_undef ? "(unknown OID)" : OBJ_nid2sn(nid)));
}

std::optional<ResponseFailure> response_extension_failure(OCSP_BASICRESP* basic) {
    for (int i = 0; i < OCSP_BASICRESP_get_ext_count(basic); ++i)
        if (auto failure = critical_extension_failure("response", OCSP_BASICRESP_get_ext(basic, i)))
            return failure;
    return std::nullopt;
}

std::optional<ResponseFailure> single_extension_failure(OCSP_SINGLERESP* single) {
    for (int i = 0; i < OCSP_SINGLERESP_get_ext_count(single); ++i)
        if (auto failure =
                critical_extension_failure("singleResponse", OCSP_SINGLERESP_get_ext(single, i)))
            return failure;
    return std::nullopt;
}

// What the response did with the nonce we sent (rule 4 of response.h). The nonce's value:
// RFC 8954 puts an OCTET STRING inside extnValue; some older responders put the bare bytes
// there, which we also compare against.
std::variant<NonceEcho, ResponseFailure> check_nonce(OCSP_BASICRESP* basic, const ValidationInput& in) {
    const std::span<const std::uint8_t> expected = in.expected_nonce;
    if (expected.empty()) return NonceEcho::not_sent;
    const int index = OCSP_BASICRESP_get_ext_by_NID(basic, NID_id_pkix_OCSP_Nonce, -1);
    if (index < 0) {
        if (in.nonce_required) return fail(ResponseError::nonce_missing, "response carries no nonce");
        return NonceEcho::missing;
    }
    const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(OCSP_BASICRESP_get_ext(basic, index));
    const unsigned char* raw = ASN1_STRING_get0_data(value);
    const long raw_len = ASN1_STRING_length(value);
    const unsigned char* p = raw;
    tls::Asn1OctetStringPtr inner(d2i_ASN1_OCTET_STRING(nullptr, &p, raw_len));
    const bool wrapped = inner && p == raw + raw_len;
    const unsigned char* got = wrapped ? ASN1_STRING_get0_data(inner.get()) : raw;
    const std::size_t got_len =
        static_cast<std::size_t>(wrapped ? ASN1_STRING_length(inner.get()) : raw_len);
    if (!std::equal(expected.begin(), expected.end(), got, got + got_len))
        return fail(ResponseError::nonce_mismatch, "response nonce differs from the request's");
    return NonceEcho::echoed;
}

// Our CertID under the response's hash algorithm, computed once per algorithm.
class ExpectedIds {
public:
    explicit ExpectedIds(const ValidationInput& in) : in_(in) {
        if (in.id.hash_nid != NID_undef) by_nid_.emplace(in.id.hash_nid, in.id);
    }
    const CertId* get(int nid) {
        auto it = by_nid_.find(nid);
        if (it != by_nid_.end()) return &it->second;
        const EVP_MD* md = nid == NID_undef ? nullptr : EVP_get_digestbynid(nid);
        if (md == nullptr) return nullptr;
        auto id = make_cert_id(in_.cert, in_.issuer, md);
        if (!id) return nullptr;
        return &by_nid_.emplace(nid, std::move(*id)).first->second;
    }

private:
    const ValidationInput& in_;
    std::unordered_map<int, CertId> by_nid_;
};

OCSP_SINGLERESP* find_single(OCSP_BASICRESP* basic, const ValidationInput& in) {
    ExpectedIds expected(in);
    for (int i = 0; i < OCSP_resp_count(basic); ++i) {
        OCSP_SINGLERESP* single = OCSP_resp_get0(basic, i);
        const CertId id = from_openssl(OCSP_SINGLERESP_get0_id(single));
        const CertId* ours = expected.get(id.hash_nid);
        if (ours != nullptr && *ours == id) return single;
    }
    return nullptr;
}

Validation read_single(OCSP_SINGLERESP* single) {
    int reason = OCSP_REVOKED_STATUS_NOSTATUS;
    ASN1_GENERALIZEDTIME* revoked_at = nullptr;
    ASN1_GENERALIZEDTIME* this_update = nullptr;
    ASN1_GENERALIZEDTIME* next_update = nullptr;
    const int status =
        OCSP_single_get0_status(single, &reason, &revoked_at, &this_update, &next_update);
    Answer answer;
    switch (status) {
        case V_OCSP_CERTSTATUS_GOOD: answer.status = CertStatus::good; break;
        case V_OCSP_CERTSTATUS_REVOKED: answer.status = CertStatus::revoked; break;
        case V_OCSP_CERTSTATUS_UNKNOWN: answer.status = CertStatus::unknown; break;
        default: return fail(ResponseError::malformed, "SingleResponse has no certStatus");
    }
    const auto this_tp = to_time_point(this_update);
    if (!this_tp) return fail(ResponseError::malformed, "SingleResponse has an invalid thisUpdate");
    answer.this_update = *this_tp;
    if (next_update != nullptr) {
        answer.next_update = to_time_point(next_update);
        if (!answer.next_update)
            return fail(ResponseError::malformed, "SingleResponse has an invalid nextUpdate");
    }
    if (answer.status == CertStatus::revoked) {
        answer.revocation_time = to_time_point(revoked_at);
        if (!answer.revocation_time)
            return fail(ResponseError::malformed, "RevokedInfo has an invalid revocationTime");
        answer.revocation_reason = reason;
    }
    return answer;
}

std::optional<ResponseFailure> freshness_failure(const Answer& answer, const ValidationInput& in) {
    if (answer.this_update > in.now + in.clock_skew)
        return fail(ResponseError::not_yet_valid,
                    "thisUpdate " + to_iso8601(answer.this_update) + " is in the future");
    if (answer.next_update && *answer.next_update < in.now - in.clock_skew)
        return fail(ResponseError::expired,
                    "nextUpdate " + to_iso8601(*answer.next_update) + " has passed");
    if (!answer.next_update && answer.this_update < in.now - in.max_age)
        return fail(ResponseError::too_old,
                    "thisUpdate " + to_iso8601(answer.this_update) +
                        " is older than max_age and there is no nextUpdate");
    return std::nullopt;
}

// Rule 6's bound on responses that a nonce does not tie to our request: a replay of a
// response that is still current, but older than the operator tolerates.
std::optional<ResponseFailure> unbound_age_failure(const Answer& answer, const ValidationInput& in) {
    if (answer.nonce == NonceEcho::echoed || !in.max_response_age) return std::nullopt;
    if (answer.this_update >= in.now - *in.max_response_age - in.clock_skew) return std::nullopt;
    const std::string age = fmt::format("thisUpdate {} is older than max_response_age ({}s)",
                                        to_iso8601(answer.this_update), in.max_response_age->count());
    if (answer.nonce == NonceEcho::missing)
        return fail(ResponseError::nonce_missing, "response carries no nonce and its " + age);
    return fail(ResponseError::too_old, age + " and no nonce was sent");
}

// Steps 2 to 6 of response.h, in that order.
Validation validate_basic(OCSP_BASICRESP* basic, const ValidationInput& in) {
    auto signer = authenticate_signer(basic, in);
    if (auto* failure = std::get_if<ResponseFailure>(&signer)) return std::move(*failure);
    if (auto failure = response_extension_failure(basic)) return *failure;
    auto nonce = check_nonce(basic, in);
    if (auto* failure = std::get_if<ResponseFailure>(&nonce)) return std::move(*failure);
    OCSP_SINGLERESP* single = find_single(basic, in);
    if (single == nullptr)
        return fail(ResponseError::no_matching_response,
                    "no SingleResponse for serial " + serial_hex(in.cert));
    if (auto failure = single_extension_failure(single)) return *failure;
    Validation result = read_single(single);
    if (auto* answer = std::get_if<Answer>(&result)) {
        answer->nonce = std::get<NonceEcho>(nonce);
        if (auto failure = freshness_failure(*answer, in)) return *failure;
        if (auto failure = unbound_age_failure(*answer, in)) return *failure;
        answer->signer = std::get<SignerKind>(signer);
        if (const ASN1_GENERALIZEDTIME* produced = OCSP_resp_get0_produced_at(basic)) answer->produced_at = to_time_point(produced);
    }
    return result;
}

}  // namespace

const char* to_string(SignerKind kind) noexcept {
    switch (kind) {
        case SignerKind::issuer: return "issuer";
        case SignerKind::delegated: return "delegated";
        case SignerKind::configured: return "configured";
    }
    return "invalid";
}

const char* to_string(NonceEcho echo) noexcept {
    switch (echo) {
        case NonceEcho::not_sent: return "not_sent";
        case NonceEcho::echoed: return "echoed";
        case NonceEcho::missing: return "missing";
    }
    return "invalid";
}

const char* to_string(ResponseError error) noexcept {
    switch (error) {
        case ResponseError::malformed: return "malformed";
        case ResponseError::malformed_request: return "malformed_request";
        case ResponseError::internal_error: return "internal_error";
        case ResponseError::try_later: return "try_later";
        case ResponseError::sig_required: return "sig_required";
        case ResponseError::unauthorized: return "unauthorized";
        case ResponseError::bad_signature: return "bad_signature";
        case ResponseError::unauthorized_signer: return "unauthorized_signer";
        case ResponseError::no_matching_response: return "no_matching_response";
        case ResponseError::nonce_missing: return "nonce_missing";
        case ResponseError::nonce_mismatch: return "nonce_mismatch";
        case ResponseError::not_yet_valid: return "not_yet_valid";
        case ResponseError::expired: return "expired";
        case ResponseError::too_old: return "too_old";
    }
    return "invalid";
}

Error to_error(const ResponseFailure& failure) {
    Errc code = Errc::verify;
    switch (failure.kind) {
        case ResponseError::malformed: code = Errc::parse; break;
        case ResponseError::malformed_request:
        case ResponseError::internal_error:
        case ResponseError::try_later:
        case ResponseError::sig_required:
        case ResponseError::unauthorized: code = Errc::unavailable; break;
        default: break;
    }
    return make_error(code,
                      fmt::format("OCSP response {}: {}", to_string(failure.kind), failure.detail));
}

Validation validate_response(std::span<const std::uint8_t> der, const ValidationInput& in) {
    if (in.cert == nullptr || in.issuer == nullptr)
        return fail(ResponseError::malformed, "validate_response: null certificate");
    ErrorQueueScope errors;
    auto parsed = parse(der);
    if (auto* failure = std::get_if<ResponseFailure>(&parsed)) return std::move(*failure);
    OCSP_RESPONSE* response = std::get<tls::OcspResponsePtr>(parsed).get();
    if (auto failure = status_failure(OCSP_response_status(response))) return *failure;
    // Fails unless responseBytes is present and its responseType is id-pkix-ocsp-basic.
    tls::OcspBasicRespPtr basic = decode_basic(response, der, in.responder_cache);
    if (!basic)
        return fail(ResponseError::malformed, "successful response without a BasicOCSPResponse");
    return validate_basic(basic.get(), in);
}

}  // namespace ocspgate::ocsp
