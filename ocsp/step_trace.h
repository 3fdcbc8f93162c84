// The steps the CRL method took for one revocation check, with their times, for `ocspgate
// check` (#19 point 5): each CRL file read, each CRL URL downloaded (HTTP status or what
// failed, bytes, time), and each judgement of a certificate with what became of every CRL it
// looked at (used, or not used and why) and those CRLs' own fields.
//
// Recorded only into a trace the caller gives the checker when it creates it
// (RevocationChecker::create); the proxy gives none, so a handshake pays one null test per CRL
// download and judgement. OCSP attempts are not here: ExchangeHistory has them already.
// Thread-safe (a judgement may run on libuv's thread pool); at most kMaxSteps steps and
// kMaxCrls judged CRLs, further ones are counted in dropped().
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ocspgate::ocsp {

struct TraceStep {
    using Clock = std::chrono::steady_clock;
    std::string action;   // "file" (read), "download", "judge"
    std::string source;   // the file path or URL; judge: the serial (hex) of the certificate judged
    std::string outcome;  // file/download: "read"/"downloaded" or what failed; judge: good|revoked|error
    Clock::time_point started;
    Clock::time_point ended;
    std::optional<int> http_status;   // download: the status the server answered with
    std::optional<std::size_t> bytes;  // file/download: the CRL's size as read
};

// One CRL as a judgement saw it: whether it decided, or why not, and what it says of itself.
struct TracedCrl {
    std::string serial;  // the certificate judged (hex)
    std::string source;  // the file path or URL
    std::string use;     // "used" (decided), "not_used" (see reason), or "not_deciding" (verified, not needed)
    std::string reason;  // not_used: "kind: detail" (docs/CRL.md "Unusable CRLs")
    std::string issuer;  // RFC 2253
    std::chrono::system_clock::time_point this_update;
    std::optional<std::chrono::system_clock::time_point> next_update;
    std::optional<std::string> number;  // cRLNumber, decimal
    bool delta = false;                 // a delta CRL (deltaCRLIndicator)
};

// A TracedCrl with `crl`'s own fields filled in (issuer, dates, cRLNumber, delta); the rest is
// the caller's.
TracedCrl traced_fields(X509_CRL* crl);

class StepTrace {
public:
    static constexpr std::size_t kMaxSteps = 256;
    static constexpr std::size_t kMaxCrls = 256;

    void add(TraceStep step);
    void add(TracedCrl crl);

    std::vector<TraceStep> steps() const;  // in the order they were recorded
    std::vector<TracedCrl> crls() const;
    std::size_t dropped() const;

private:
    mutable std::mutex mutex_;
    std::vector<TraceStep> steps_;  // guarded by mutex_
    std::vector<TracedCrl> crls_;   // guarded by mutex_
    std::size_t dropped_ = 0;       // guarded by mutex_
};

}  // namespace ocspgate::ocsp
