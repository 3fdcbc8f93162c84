#pragma once

// Splits a fuzz input into chunks the way a socket might deliver it, so the stream parsers
// see messages cut at every possible place. The first byte only seeds the chunk sizes; the
// bytes after it are the stream, unchanged. An empty input yields no chunks.

#include <cstddef>
#include <cstdint>
#include <span>

namespace ocspgate::fuzz {

// Calls `on_chunk(std::span<const std::uint8_t>) -> bool` for consecutive pieces of data[1..]
// until it returns false. Piece sizes (1..256) follow a small generator seeded by data[0];
// data[0] == 0 delivers the stream in one piece.
template <class OnChunk>
void for_each_chunk(std::span<const std::uint8_t> data, OnChunk&& on_chunk) {
    if (data.empty()) return;
    std::uint32_t state = data[0] | 0x100u;
    std::span<const std::uint8_t> rest = data.subspan(1);
    while (!rest.empty()) {
        state = state * 1103515245u + 12345u;  // an LCG: deterministic, cheap
        const std::size_t size = data[0] == 0 ? rest.size() : 1 + ((state >> 16) % 256);
        const std::size_t take = size < rest.size() ? size : rest.size();
        if (!on_chunk(rest.first(take))) return;
        rest = rest.subspan(take);
    }
}

}  // namespace ocspgate::fuzz
