#include "ocsp/crl_judge.h"

#include <openssl/x509v3.h>

#include <algorithm>
#include <map>
#include <optional>
#include <variant>
#include <vector>

#include "ocsp/crl.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp {
namespace {

// A CRL that verified and covers the certificate, with what it says about it.
struct Usable {
    const HeldCrl* held;
    CrlCheck check;
    tls::Asn1IntegerPtr number;  // cRLNumber, when present
};

// The IDP extension's DER: CRLs with the same one cover the same certificates.
std::string scope_key(X509_CRL* crl) {
    const int at = X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1);
    if (at < 0) return {};
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_CRL_get_ext(crl, at));
    return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)), static_cast<std::size_t>(ASN1_STRING_length(data))};
}

// True when `a` supersedes `b` within one scope.
bool newer(const Usable& a, const Usable& b) {
    if (a.number && b.number) {
        if (int c = ASN1_INTEGER_cmp(a.number.get(), b.number.get()); c != 0) return c > 0;
    } else if (a.check.this_update != b.check.this_update) {
        return a.check.this_update > b.check.this_update;
    }
    // Same number (or time): a CA that issued two different CRLs under one number is broken;
    // fail closed by letting the one that lists the certificate decide.
    if (a.check.status != b.check.status) return a.check.status == CertStatus::revoked;
    return a.held->source < b.held->source;  // any fixed order, never the input's
}

std::optional<Usable> usable(const HeldCrl& held, const CrlJudgeInput& in, std::string& notes) {
    auto verdict = check_crl(CrlCheckInput{held.crl.get(), in.issuer, in.now, in.clock_skew}, in.cert);
    if (auto* failure = std::get_if<CrlFailure>(&verdict)) {
        if (!notes.empty()) notes += "; ";
        notes += held.source + ": " + to_string(failure->kind) + ": " + failure->detail;
        return std::nullopt;
    }
    tls::Asn1IntegerPtr number(static_cast<ASN1_INTEGER*>(
        X509_CRL_get_ext_d2i(held.crl.get(), NID_crl_number, nullptr, nullptr)));
    return Usable{&held, std::get<CrlCheck>(verdict), std::move(number)};
}

MethodResult result_from(const Usable& decider) {
    MethodResult r;
    r.kind = decider.check.status == CertStatus::revoked ? MethodResult::Kind::revoked : MethodResult::Kind::good;
    r.source = decider.held->source;
    return r;
}

}  // namespace

MethodResult judge_certificate(std::span<const HeldCrl> held, const CrlJudgeInput& in) {
    std::string notes;
    std::map<std::string, Usable> newest_by_scope;
    for (const auto& h : held) {
        auto u = usable(h, in, notes);
        if (!u) continue;
        auto key = scope_key(h.crl.get());
        auto it = newest_by_scope.find(key);
        if (it == newest_by_scope.end())
            newest_by_scope.emplace(std::move(key), std::move(*u));
        else if (newer(*u, it->second))
            it->second = std::move(*u);
    }
    if (newest_by_scope.empty()) {
        MethodResult r;
        r.kind = MethodResult::Kind::error;
        r.source = "crl";
        r.detail = held.empty() ? "no CRL for this issuer" : "no current CRL covers this certificate: " + notes;
        return r;
    }
    const Usable* decider = nullptr;
    for (const auto& [scope, u] : newest_by_scope)
        if (decider == nullptr || (u.check.status == CertStatus::revoked && decider->check.status != CertStatus::revoked))
            decider = &u;
    return result_from(*decider);
}

}  // namespace ocspgate::ocsp
