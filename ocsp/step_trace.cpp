#include "ocsp/step_trace.h"

#include <openssl/x509v3.h>

#include "ocsp/asn1_time.h"
#include "ocsp/crl.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp {
namespace {

// RFC 2253, as tls::subject_of() writes certificate names.
std::string name_of(const X509_NAME* name) {
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || name == nullptr) return {};
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

TracedCrl traced_fields(X509_CRL* crl) {
    TracedCrl t;
    t.issuer = name_of(X509_CRL_get_issuer(crl));
    t.this_update = to_time_point(X509_CRL_get0_lastUpdate(crl)).value_or(std::chrono::system_clock::time_point{});
    if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl)) t.next_update = to_time_point(next);
    // Malformed numbers are verify_crl()'s to refuse; here they are only left out.
    if (auto* number = static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr))) {
        if (auto n = CrlNumber::from(number)) t.number = n->to_string();
        ASN1_INTEGER_free(number);
    }
    t.delta = X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0;
    return t;
}

void StepTrace::add(TraceStep step) {
    std::lock_guard lock(mutex_);
    if (steps_.size() >= kMaxSteps) return (void)++dropped_;
    steps_.push_back(std::move(step));
}

void StepTrace::add(TracedCrl crl) {
    std::lock_guard lock(mutex_);
    if (crls_.size() >= kMaxCrls) return (void)++dropped_;
    crls_.push_back(std::move(crl));
}

std::vector<TraceStep> StepTrace::steps() const {
    std::lock_guard lock(mutex_);
    return steps_;
}

std::vector<TracedCrl> StepTrace::crls() const {
    std::lock_guard lock(mutex_);
    return crls_;
}

std::size_t StepTrace::dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
}

}  // namespace ocspgate::ocsp
