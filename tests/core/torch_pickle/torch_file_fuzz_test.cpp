// Mutation fuzzing of the torch.save reader, bounded in time so that it runs
// with every test: mutated pickles and mutated archives must either read into
// tensors that keep every promise (inside the file, inside their storage) or fail
// with capbench::Error -- never crash, hang, throw anything else, or accept a
// global outside a state dict's few.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <chrono>
#include <random>
#include <set>

#include "core/error.h"
#include "core/torch_pickle/torch_file.h"
#include "core/torch_pickle/torch_writer.h"
#include "core/torch_pickle/unpickler.h"
#include "tests/test_support.h"

using namespace capbench::testing;
using capbench::torch_pickle::Value;

namespace {

constexpr double kSeconds = 3.0;

// Opcodes and fragments that push the reader into its corners.
const char* const kTokens[] = {
    "(", ")", "t", "\x85", "\x86", "\x87", "]", "a", "e", "}", "s", "u", "R", "b", "Q", "0", "1", "2", ".", "N", "\x88",
    "h\x01", "q\x01", "j\xff\xff\xff\xff", "r\x00\x00\x00\x01", "\x94", "K\xff", "J\xff\xff\xff\xff", "\x8a\x08", "\x8b\xff\xff\xff\xff",
    "X\xff\xff\xff\xff", "\x8c\x10", "cposix\nsystem\n", "cbuiltins\neval\n", "ccollections\nOrderedDict\n",
    "ctorch._utils\n_rebuild_tensor_v2\n", "ctorch\nHalfStorage\n", "\x93", "\x80\x05", "\x95\x01\x00\x00\x00\x00\x00\x00\x00"};

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : random_(seed) {}

  std::vector<uint8_t> mutate(const std::vector<uint8_t>& input, size_t begin, size_t end) {
    std::vector<uint8_t> bytes = input;
    int rounds = 1 + static_cast<int>(pick(4));
    for (int r = 0; r < rounds; ++r) {
      end = std::min(end, bytes.size());
      if (end <= begin) break;
      size_t at = begin + pick(end - begin);
      switch (pick(6)) {
        case 0: bytes[at] = static_cast<uint8_t>(pick(256)); break;
        case 1: bytes[at] ^= static_cast<uint8_t>(1u << pick(8)); break;
        case 2: bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at)); break;
        case 3: {
          std::string token = kTokens[pick(sizeof kTokens / sizeof *kTokens)];
          bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), token.begin(), token.end());
          break;
        }
        case 4: bytes.resize(pick(bytes.size() + 1)); break;  // truncation
        case 5: {                                              // a small number changed
          size_t span = std::min<size_t>(4, bytes.size() - at);
          for (size_t i = 0; i < span; ++i) bytes[at + i] = static_cast<uint8_t>(pick(3) == 0 ? 0xff : pick(16));
          break;
        }
      }
    }
    return bytes;
  }

  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(random_); }

 private:
  std::mt19937 random_;
};

std::vector<std::pair<std::string, at::Tensor>> seed_tensors() {
  return {{"a", torch::zeros({2, 3})}, {"b", torch::zeros({4}, torch::kHalf)}, {"c", torch::zeros({0})},
          {"d", torch::zeros({}, torch::kLong)}, {"e", torch::zeros({3}, torch::kBool)}};
}

// No global outside the known few is ever accepted, however deep in the value.
void check_globals(const Value& v) {
  if (v.kind == Value::Kind::Global) {
    static const std::set<std::string> known = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                                "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter"};
    bool storage = v.text.rfind("torch.", 0) == 0 && v.text.size() > 13 && v.text.compare(v.text.size() - 7, 7, "Storage") == 0;
    REQUIRE_MESSAGE((known.count(v.text) || storage), v.text);
  }
  for (const auto& item : v.items) check_globals(*item);
  for (const auto& [key, value] : v.entries) {
    check_globals(*key);
    check_globals(*value);
  }
}

void check_tensor(const capbench::torch_pickle::TensorRef& t) {
  REQUIRE(t.shape.size() == t.strides.size());
  uint64_t last = t.offset;
  for (size_t i = 0; i < t.shape.size(); ++i) {
    REQUIRE(t.shape[i] >= 0);
    REQUIRE(t.strides[i] >= 0);
    if (t.shape[i] == 0) return;
    last += static_cast<uint64_t>(t.shape[i] - 1) * static_cast<uint64_t>(t.strides[i]);
  }
  REQUIRE(last < t.storage.numel);
}

void check_tensors(const Value& v) {
  if (v.kind == Value::Kind::Tensor) check_tensor(v.tensor);
  for (const auto& item : v.items) check_tensors(*item);
  for (const auto& [key, value] : v.entries) check_tensors(*value);
}

// Feeds `attempt(run)` mutated inputs for kSeconds: each either reads (and checks
// its promises) or throws capbench::Error naming the origin "fuzz". Returns
// (runs, inputs read).
template <class Attempt>
std::pair<size_t, size_t> fuzz_for_a_while(Attempt attempt) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(kSeconds);
  size_t runs = 0, read = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (int batch = 0; batch < 64; ++batch, ++runs) {
      try {
        attempt(runs);
        ++read;
      } catch (const capbench::Error& e) {
        REQUIRE(std::string(e.what()).rfind("fuzz: ", 0) == 0);
      }
    }
  }
  return {runs, read};
}

}  // namespace

TEST_CASE("mutated pickles read correctly or fail with capbench::Error, for a bounded time") {
  const std::string pickle = capbench::state_dict_pickle(seed_tensors(), "model");
  const std::vector<uint8_t> seed(pickle.begin(), pickle.end());
  Mutator mutator(20261130);
  auto [runs, read] = fuzz_for_a_while([&](size_t) {
    std::vector<uint8_t> bytes = mutator.mutate(seed, 0, seed.size());
    auto value = capbench::torch_pickle::unpickle(bytes.data(), bytes.size(), "fuzz");
    check_globals(*value);
    check_tensors(*value);
  });
  MESSAGE(runs << " mutated pickles in " << kSeconds << " s, " << read << " of them read");
  CHECK(runs > 5000);
  CHECK(read > 0);
  CHECK(read < runs);
}

TEST_CASE("mutated archives read correctly or fail with capbench::Error, for a bounded time") {
  TempDir dir;
  capbench::write_torch_state_dict(dir / "seed.pth", seed_tensors());
  const std::vector<std::vector<uint8_t>> seeds = {read_bytes(dir / "seed.pth"), read_bytes(fixture("torch-save/module.pth"))};
  Mutator mutator(20261201);
  auto [runs, read] = fuzz_for_a_while([&](size_t run) {
    const auto& seed = seeds[run % 2];
    // Half the mutations hit the end (the zip directory), half anywhere.
    size_t begin = run % 4 < 2 ? seed.size() - std::min<size_t>(seed.size(), 600) : 0;
    std::vector<uint8_t> bytes = mutator.mutate(seed, begin, seed.size());
    for (const auto& t : capbench::read_torch_state_dict(bytes.data(), bytes.size(), "fuzz")) {
      REQUIRE(t.begin <= t.end);
      REQUIRE(t.end <= bytes.size());
      REQUIRE(t.shape.size() == t.strides.size());
    }
  });
  MESSAGE(runs << " mutated archives in " << kSeconds << " s, " << read << " of them read");
  CHECK(runs > 2000);
  CHECK(read > 0);
  CHECK(read < runs);
}
