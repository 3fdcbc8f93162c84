// Judging one certificate against every CRL held that might speak for it (RFC 5280 §6.3.3).
// No I/O: CRLs in, one answer out; the caller supplies the clock (and, for rollback
// detection, a CrlHistory it shares between lookups).
//
// Every CRL is verified against the certificate's own issuer: the issuer's key, or else a
// configured CRL signer of the issuer's name whose path validates to the certificate's trust
// anchor and who is not revoked itself (crl_signer.h). Each is scoped to the certificate
// (issuingDistributionPoint: distribution point, user/CA-only, onlySomeReasons, and the
// reasons of the certificate's matching distribution point) and refused when unusable
// (expired beyond `grace`, thisUpdate in the future, a cRLNumber lower than one seen before).
// The ones that pass are grouped by scope (the IDP's exact DER, or none for a complete CRL):
//
// - Within a scope the newest complete CRL is the base (higher cRLNumber, then later
//   thisUpdate; an equal pair prefers the one that lists the certificate), so an older CRL
//   can never outvote a newer one. The newest delta CRL of that scope applies when its
//   BaseCRLNumber <= the base's number <= its own number and the same key signed both
//   (§5.2.4, §6.3.3 c): its entries override the base's, and removeFromCRL takes a
//   certificate off hold (a base entry with reason certificateHold; any other revocation
//   stands). A base that names deltas (freshestCRL) while none that applies is held gives
//   no answer unless `delta_required` is false; a listing in it still revokes.
// - Across scopes the certificate is revoked when any scope lists it, and good only when the
//   scopes that do not list it cover every reason between them (partial CRLs, §6.3.3 j);
//   fewer reasons covered is no answer.
//
// No answer is kind error with a detail saying why each CRL was not used; the method chain
// goes on. Nothing here depends on the order in which the CRLs are given.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ocsp/crl_history.h"
#include "ocsp/signed_crl.h"
#include "ocsp/policy.h"

namespace ocspgate::ocsp {

struct HeldCrl {
    std::shared_ptr<const SignedCrl> crl;
    std::string source;  // the file or URL it came from, for logs
};

struct CrlJudgeInput {
    X509* cert = nullptr;
    X509* issuer = nullptr;  // the CA that issued `cert`
    std::chrono::system_clock::time_point now;
    std::chrono::seconds clock_skew{0};
    std::chrono::seconds grace{0};  // CRLs stay usable this long after nextUpdate (+ clock_skew)
    bool delta_required = true;     // a base naming deltas needs one (see above)
    // Candidate separate CRL signers and certificates that complete their paths (crl.signers).
    std::span<X509* const> signers = {};
    X509* anchor = nullptr;  // the trust anchor of `cert`'s verified chain; null: no signer is usable
    // Highest cRLNumbers seen: consulted, then fed with the usable CRLs. Null: no rollback check.
    CrlHistory* history = nullptr;
};

// A CRL that was not used, and why ("kind: detail", the words of docs/CRL.md).
struct CrlNotUsed {
    std::string source;
    std::string reason;
};

// good or revoked from the deciding CRL(s), with their source; error (detail: why each CRL was
// not usable, or which reasons no CRL covers) when no current, verified, in-scope set of CRLs
// among `held` decides. A good or revoked answer's detail names the CRLs that were refused.
// An error's MethodResult::no_answer is one of: crl_unavailable (no CRL of the issuer held),
// crl_reasons_uncovered (the CRLs that apply leave reasons uncovered), or "crl_" + the
// CrlError (crl.h) that best explains it when no CRL could be used: delta_missing first, then
// the CRL's own faults (expired, rolled_back, ...), out_of_scope last.
// `not_used`, when given, also gets them one by one (`ocspgate check` lists them).
MethodResult judge_certificate(std::span<const HeldCrl> held, const CrlJudgeInput& in,
                               std::vector<CrlNotUsed>* not_used = nullptr);

}  // namespace ocspgate::ocsp
