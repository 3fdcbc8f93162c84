#include "ocsp/get_fallback.h"

#include <algorithm>

namespace ocspgate::ocsp {

bool GetFallback::may_get(const std::string& url, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(refusals_.begin(), refusals_.end(), [&](const Refusal& r) { return r.url == url; });
    if (it == refusals_.end()) return true;
    if (now < it->retry_at) return false;
    it->retry_at = now + reprobe_after;  // this caller is the re-probe; the others keep to POST
    return true;
}

bool GetFallback::record_refusal(const std::string& url, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(refusals_.begin(), refusals_.end(), [&](const Refusal& r) { return r.url == url; });
    if (it != refusals_.end()) {
        it->retry_at = now + reprobe_after;
        return false;
    }
    if (refusals_.size() >= kMaxResponders) refusals_.erase(refusals_.begin());
    refusals_.push_back(Refusal{url, now + reprobe_after});
    return true;
}

void GetFallback::record_success(const std::string& url) {
    std::lock_guard lock(mutex_);
    std::erase_if(refusals_, [&](const Refusal& r) { return r.url == url; });
}

std::vector<std::string> GetFallback::refusing() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> urls;
    for (const auto& r : refusals_) urls.push_back(r.url);
    return urls;
}

}  // namespace ocspgate::ocsp
