#include "ocsp/crl_store.h"

#include <fmt/format.h>

#include <fstream>
#include <iterator>

#include "ocsp/aia.h"
#include "ocsp/crl.h"
#include "ocsp/http_fetch.h"

namespace ocspgate::ocsp {
namespace {

Result<std::shared_ptr<X509_CRL>> read_crl_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(Errc::io, "cannot read CRL file " + path.string());
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto crl = parse_crl(bytes);
    if (!crl) return make_error(Errc::parse, path.string() + ": " + crl.error().message);
    return std::shared_ptr<X509_CRL>(std::move(crl).value().release(), X509_CRL_free);
}

MethodResult error_result(std::string source, std::string detail) {
    MethodResult r;
    r.kind = MethodResult::Kind::error;
    r.source = std::move(source);
    r.detail = std::move(detail);
    return r;
}

}  // namespace

CrlStore::CrlStore(const conf::CrlSettings& settings, std::chrono::seconds clock_skew)
    : settings_(settings), clock_skew_(clock_skew) {}

Result<Ok> CrlStore::load_files() {
    std::vector<FileCrl> loaded;
    for (const auto& path : settings_.files) {
        auto crl = read_crl_file(path);
        if (!crl) return std::move(crl).error();
        std::error_code ec;
        loaded.push_back({path, std::filesystem::last_write_time(path, ec), std::move(crl).value()});
    }
    std::lock_guard lock(mutex_);
    files_ = std::move(loaded);
    return Ok{};
}

void CrlStore::reload_changed_files() {
    std::vector<std::pair<std::filesystem::path, std::filesystem::file_time_type>> snapshot;
    {
        std::lock_guard lock(mutex_);
        for (const auto& f : files_) snapshot.emplace_back(f.path, f.mtime);
    }
    for (const auto& [path, old_mtime] : snapshot) {
        std::error_code ec;
        auto mtime = std::filesystem::last_write_time(path, ec);
        if (ec || mtime == old_mtime) continue;
        auto crl = read_crl_file(path);
        if (!crl) continue;  // keep the previous CRL until the file is whole and valid again
        std::lock_guard lock(mutex_);
        for (auto& f : files_)
            if (f.path == path) {
                f.crl = std::move(crl).value();
                f.mtime = mtime;
            }
    }
}

std::optional<MethodResult> CrlStore::check_against(const CrlRef& crl, const std::string& source, X509* cert,
                                                    X509* issuer) {
    CrlCheckInput in;
    in.crl = crl.get();
    in.issuer = issuer;
    in.now = std::chrono::system_clock::now();
    in.clock_skew = clock_skew_;
    CrlVerification v = check_crl(in, cert);
    if (std::holds_alternative<CrlFailure>(v)) return std::nullopt;  // not usable for this cert
    MethodResult r;
    r.kind = std::get<CrlCheck>(v).status == CertStatus::revoked ? MethodResult::Kind::revoked : MethodResult::Kind::good;
    r.source = source;
    return r;
}

std::optional<MethodResult> CrlStore::lookup_cached(X509* cert, X509* issuer) {
    std::vector<std::pair<CrlRef, std::string>> candidates;
    std::vector<Url> urls = urls_for(cert);
    {
        std::lock_guard lock(mutex_);
        for (const auto& f : files_)
            if (X509_NAME_cmp(X509_CRL_get_issuer(f.crl.get()), X509_get_issuer_name(cert)) == 0)
                candidates.emplace_back(f.crl, f.path.string());
        for (const auto& url : urls)
            if (auto it = fetched_.find(url.text); it != fetched_.end()) candidates.emplace_back(it->second, url.text);
    }
    for (const auto& [crl, source] : candidates)
        if (auto r = check_against(crl, source, cert, issuer)) return r;
    if (!urls.empty()) return std::nullopt;  // fetch one
    return error_result("crl", candidates.empty() ? "no CRL for this issuer (no file, no URL, no CRL DP)"
                                                  : "no valid CRL for this issuer (expired or bad signature)");
}

std::vector<Url> CrlStore::urls_for(X509* cert) const {
    std::vector<std::string> texts = settings_.urls.empty() ? crl_urls(cert) : settings_.urls;
    std::vector<Url> urls;
    for (const auto& t : texts)
        if (auto u = parse_url(t); u && u->scheme == "http") urls.push_back(std::move(u).value());
    return urls;
}

void CrlStore::keep_fetched(const std::string& url, CrlRef crl) {
    std::lock_guard lock(mutex_);
    fetched_[url] = std::move(crl);
}

namespace {

// One CRL download across the URLs in order; owns itself until done.
struct CrlFetch {
    CrlStore* store;
    Mailbox* home;
    std::vector<Url> urls;
    tls::X509Ptr cert, issuer;
    std::function<void(MethodResult)> done;
    std::function<std::optional<MethodResult>(std::shared_ptr<X509_CRL>, const std::string&)> accept;
    FetchLimits limits;
    std::size_t index = 0;
    std::string errors;
    FetchHandle handle;
    std::uint64_t close_hook = 0;

    void start() {
        close_hook = home->add_close_hook([this] {
            handle.cancel();
            finish(error_result("crl", "worker shutting down"));
        });
        next();
    }

    void next() {
        if (index >= urls.size()) return finish(error_result("crl", "no CRL could be fetched: " + errors));
        HttpRequest req;
        req.method = HttpRequest::Method::get;
        req.url = urls[index];
        auto started = start_fetch(home->loop(), std::move(req), limits, [this](Result<HttpResponse> r) { on_response(std::move(r)); });
        if (!started) {
            note(started.error().message);
            ++index;
            return next();
        }
        handle = std::move(started).value();
    }

    void on_response(Result<HttpResponse> r) {
        if (!r) return note(r.error().message), ++index, next();
        if (r->status != 200) return note(fmt::format("HTTP status {}", r->status)), ++index, next();
        auto crl = parse_crl(r->body);
        if (!crl) return note(crl.error().message), ++index, next();
        std::shared_ptr<X509_CRL> shared(std::move(crl).value().release(), X509_CRL_free);
        if (auto result = accept(shared, urls[index].text)) return finish(std::move(*result));
        note("CRL does not verify against the issuer or is expired");
        ++index;
        next();
    }

    void note(const std::string& what) {
        if (!errors.empty()) errors += "; ";
        errors += urls[index].text + ": " + what;
    }

    void finish(MethodResult result) {
        home->remove_close_hook(close_hook);
        auto callback = std::move(done);
        delete this;
        callback(std::move(result));
    }
};

}  // namespace

void CrlStore::fetch(Mailbox& home, std::vector<Url> urls, tls::X509Ptr cert, tls::X509Ptr issuer,
                     std::function<void(MethodResult)> done) {
    auto* f = new CrlFetch{this, &home, std::move(urls), std::move(cert), std::move(issuer), std::move(done), {}, {}, 0, {}, {}};
    f->limits.timeout = settings_.timeout;
    f->limits.max_body = settings_.max_size;
    f->accept = [this, f](std::shared_ptr<X509_CRL> crl, const std::string& url) -> std::optional<MethodResult> {
        auto r = check_against(crl, url, f->cert.get(), f->issuer.get());
        if (r) keep_fetched(url, std::move(crl));
        return r;
    };
    f->start();
}

}  // namespace ocspgate::ocsp
