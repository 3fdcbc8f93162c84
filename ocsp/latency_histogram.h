// A Prometheus-style latency histogram made of relaxed atomics: observe() from any thread on
// the hot path (one bucket add, one sum add, one count add; no lock), read as a snapshot by the
// admin endpoint. Used for responder latency (CheckerStats) and handshake latency (the
// listener counters in proxy/).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace ocspgate::ocsp {

class LatencyHistogram {
public:
    // Upper bounds in milliseconds: from a cache-hit handshake to a responder at its timeout.
    static constexpr std::array<std::uint64_t, 12> kBoundsMs = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};

    void observe(std::chrono::microseconds latency) {
        auto us = static_cast<std::uint64_t>(latency.count() < 0 ? 0 : latency.count());
        std::size_t i = 0;
        while (i < kBoundsMs.size() && us > kBoundsMs[i] * 1000) ++i;
        buckets_[i].fetch_add(1, std::memory_order_relaxed);  // i == size(): the +Inf bucket
        sum_us_.fetch_add(us, std::memory_order_relaxed);
        count_.fetch_add(1, std::memory_order_relaxed);
    }

    // Observations in bucket `i` alone (not cumulative); i == kBoundsMs.size() is +Inf.
    std::uint64_t bucket(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
    std::uint64_t sum_us() const { return sum_us_.load(std::memory_order_relaxed); }
    std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

private:
    std::array<std::atomic<std::uint64_t>, kBoundsMs.size() + 1> buckets_{};
    std::atomic<std::uint64_t> sum_us_{0};
    std::atomic<std::uint64_t> count_{0};
};

}  // namespace ocspgate::ocsp
