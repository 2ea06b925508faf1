#pragma once
// The machine's memory read bandwidth as the benches measure it: the floor of a
// memory-bound product is the bytes it must read divided by this.
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace capbench::bench {

// Read bandwidth in bytes/s: the best of five sums over 512 MB, split across
// at::get_num_threads() threads as the layers' work is. (Integer words, whose
// sum the compiler vectorises; at::sum over floats measured less than a third
// of this.)
inline double memory_bandwidth() {
  using clock = std::chrono::steady_clock;
  const int64_t words = int64_t(512e6 / 8);
  std::vector<uint64_t> data(words, 1);
  double best = 1e9;
  for (int i = 0; i < 5; ++i) {
    std::atomic<uint64_t> total{0};
    const auto start = clock::now();
    at::parallel_for(0, words, words / 64, [&](int64_t begin, int64_t end) {
      uint64_t sum = 0;
      for (int64_t w = begin; w < end; ++w) sum += data[w];
      total += sum;
    });
    best = std::min(best, std::chrono::duration<double>(clock::now() - start).count());
    if (total != static_cast<uint64_t>(words)) throw std::runtime_error("memory_bandwidth: the sum is wrong");
  }
  return 512e6 / best;
}

}  // namespace capbench::bench
