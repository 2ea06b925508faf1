// Mutation fuzzing of the safetensors header parser, bounded in time so that it
// runs with every test: mutated files must either parse into entries that keep
// every promise of the format, or fail with capbench::Error -- never crash, hang,
// throw anything else or allocate by a size the file does not back.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <chrono>
#include <random>

#include "core/error.h"
#include "core/safetensors.h"
#include "tests/core/checkpoint_test_support.h"

using namespace capbench::testing;

namespace {

constexpr double kSeconds = 3.0;

// What a successful parse guarantees, checked independently of the parser.
void check_promises(const capbench::SafetensorsHeader& header, uint64_t size) {
  const capbench::SafetensorsEntry* previous = nullptr;
  for (const auto& entry : header.tensors) {
    REQUIRE(entry.begin >= header.data_begin);
    REQUIRE(entry.begin <= entry.end);
    REQUIRE(entry.end <= size);
    uint64_t bytes = c10::elementSize(entry.dtype);
    for (int64_t d : entry.shape) bytes *= static_cast<uint64_t>(d);
    REQUIRE(bytes == entry.end - entry.begin);
    if (entry.begin == entry.end) continue;
    if (previous) REQUIRE(entry.begin >= previous->end);
    previous = &entry;
  }
}

// Tokens that push the JSON into the parser's corners.
const char* const kTokens[] = {
    "\"F32\"", "\"BF16\"", "\"F8_E5M2\"", "\"__metadata__\"", "\"dtype\"", "\"shape\"", "\"data_offsets\"",
    "[", "]", "{", "}", ",", ":", "\"", "\\", "-1", "0", "1e400", "0.5", "null", "true",
    "18446744073709551615", "18446744073709551616", "9223372036854775807", "4294967296", "[]", "{}", "\xff\xfe"};

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : random_(seed) {}

  std::vector<uint8_t> mutate(const std::vector<uint8_t>& file, uint64_t header_end) {
    std::vector<uint8_t> bytes = file;
    int rounds = 1 + pick(4);
    for (int r = 0; r < rounds; ++r) {
      uint64_t limit = std::min<uint64_t>(bytes.size(), header_end);
      if (limit == 0) break;
      size_t at = pick(limit);
      switch (pick(7)) {
        case 0: bytes[at] = static_cast<uint8_t>(pick(256)); break;
        case 1: bytes[at] ^= static_cast<uint8_t>(1u << pick(8)); break;
        case 2: bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at)); break;
        case 3: {
          std::string token = kTokens[pick(sizeof kTokens / sizeof *kTokens)];
          bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), token.begin(), token.end());
          break;
        }
        case 4: bytes[pick(8)] = static_cast<uint8_t>(pick(256)); break;  // the length prefix
        case 5: bytes.resize(pick(bytes.size() + 1)); break;                 // truncation
        case 6:                                                              // a digit changed
          for (size_t i = at; i < limit; ++i)
            if (bytes[i] >= '0' && bytes[i] <= '9') {
              bytes[i] = static_cast<uint8_t>('0' + pick(10));
              break;
            }
          break;
      }
    }
    return bytes;
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(random_); }
  std::mt19937 random_;
};

std::vector<uint8_t> seed_file() {
  TempDir dir;
  capbench::write_safetensors(dir / "seed.safetensors",
                              {{"a", torch::zeros({2, 3})}, {"b", torch::zeros({4}, torch::kHalf)},
                               {"c", torch::zeros({0})}, {"d", torch::zeros({1, 1, 2}, torch::kLong)},
                               {"e", torch::zeros({3}, torch::kBool)}},
                              {{"format", "pt"}});
  return read_bytes(dir / "seed.safetensors");
}

uint64_t header_end(const std::vector<uint8_t>& file) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[i];
  return 8 + n;
}

}  // namespace

TEST_CASE("mutated headers parse correctly or fail with capbench::Error, for a bounded time") {
  const std::vector<std::vector<uint8_t>> seeds = {seed_file(), read_bytes(fixture("blip2-opt-tiny-sharded/model-00001-of-00003.safetensors"))};
  Mutator mutator(20261128);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(kSeconds);
  size_t runs = 0, parsed = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    // The small seed mostly: it gives many more runs per second than the fixture.
    const auto& seed = seeds[runs % 8 == 7 ? 1 : 0];
    for (int batch = 0; batch < 64; ++batch, ++runs) {
      std::vector<uint8_t> bytes = mutator.mutate(seed, header_end(seed));
      try {
        auto header = capbench::parse_safetensors(bytes.data(), bytes.size(), "fuzz");
        check_promises(header, bytes.size());
        ++parsed;
      } catch (const capbench::Error& e) {
        REQUIRE(std::string(e.what()).rfind("fuzz: ", 0) == 0);
      }
    }
  }
  MESSAGE(runs << " mutated files in " << kSeconds << " s, " << parsed << " of them valid");
  CHECK(runs > 5000);
  CHECK(parsed > 0);
  CHECK(parsed < runs);
}
