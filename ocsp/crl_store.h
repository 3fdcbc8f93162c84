// CRLs the CRL method decides with: local files (loaded at start, reloaded when changed) and
// CRLs fetched over HTTP from configured URLs or the certificate's CRL Distribution Points,
// kept until their nextUpdate. Shared by every loop; CRL objects are reference-counted so a
// reload never frees one that a lookup is using.
#pragma once

#include <uv.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "conf/config.h"
#include "ocsp/mailbox.h"
#include "ocsp/policy.h"
#include "ocsp/url.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp {

class CrlStore {
public:
    CrlStore(const conf::CrlSettings& settings, std::chrono::seconds clock_skew);

    // Loads every configured file; call at start-up (not on a loop thread).
    Result<Ok> load_files();
    // Re-reads files whose modification time changed; call from a non-traffic thread.
    void reload_changed_files();

    // A decision from a CRL already held, or nullopt when a fetch is needed (urls_for).
    std::optional<MethodResult> lookup_cached(X509* cert, X509* issuer);
    std::vector<Url> urls_for(X509* cert) const;

    // Fetches the first of `urls` that answers with a CRL that verifies against `issuer`,
    // keeps it, and reports the resulting decision for `cert` on `home`'s loop (an error if
    // that loop shuts down first).
    void fetch(Mailbox& home, std::vector<Url> urls, tls::X509Ptr cert, tls::X509Ptr issuer,
               std::function<void(MethodResult)> done);

private:
    using CrlRef = std::shared_ptr<X509_CRL>;
    struct FileCrl {
        std::filesystem::path path;
        std::filesystem::file_time_type mtime;
        CrlRef crl;
    };
    std::optional<MethodResult> check_against(const CrlRef& crl, const std::string& source, X509* cert, X509* issuer);
    void keep_fetched(const std::string& url, CrlRef crl);

    const conf::CrlSettings& settings_;
    std::chrono::seconds clock_skew_;
    std::mutex mutex_;
    std::vector<FileCrl> files_;                       // guarded by mutex_
    std::unordered_map<std::string, CrlRef> fetched_;  // by URL; guarded by mutex_
};

}  // namespace ocspgate::ocsp
