// nn::KvCache: preallocated buffers appended in place, read as views of the
// filled prefix, grown only when short, rows selected in every buffer.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/nn/kv_cache.h"

using namespace capbench;

namespace {

// [R,H,n,d] with value base + position.
at::Tensor positions(int64_t rows, int64_t n, double base) {
  return (torch::arange(n, torch::kFloat).view({1, 1, n, 1}) + base).expand({rows, 2, n, 3}).contiguous();
}

}  // namespace

TEST_CASE("append writes in place and returns views of the filled prefix") {
  nn::KvCache cache;
  cache.allocate(/*layers=*/2, /*rows=*/2, /*heads=*/2, /*head_dim=*/3, /*capacity=*/8, torch::TensorOptions());
  CHECK(cache.length() == 0);
  CHECK(cache.capacity() == 8);
  const auto [k0, v0] = cache.append(0, positions(2, 3, 0), positions(2, 3, 100));
  cache.append(1, positions(2, 3, 0), positions(2, 3, 100));
  cache.advance(3);
  CHECK(k0.sizes() == at::IntArrayRef({2, 2, 3, 3}));
  CHECK(cache.length() == 3);

  const auto [k1, v1] = cache.append(0, positions(2, 1, 3), positions(2, 1, 103));
  CHECK(k1.size(2) == 4);
  // The same memory as the first append: nothing was copied to read it.
  CHECK(k1.data_ptr() == k0.data_ptr());
  CHECK(torch::equal(k1, positions(2, 4, 0)));
  CHECK(torch::equal(v1, positions(2, 4, 100)));
  cache.append(1, positions(2, 1, 3), positions(2, 1, 103));
  cache.advance(1);
  CHECK(torch::equal(cache.keys(1), positions(2, 4, 0)));
}

TEST_CASE("appending past the capacity is refused; reserve_more grows and keeps what was filled") {
  nn::KvCache cache;
  cache.allocate(1, 1, 2, 3, 2, torch::TensorOptions(), /*key_bias=*/true);
  cache.append(0, positions(1, 2, 0), positions(1, 2, 0));
  cache.write_key_bias(torch::tensor({{-1.0f, 0.0f}}));
  cache.advance(2);
  CHECK_THROWS_AS(cache.append(0, positions(1, 1, 2), positions(1, 1, 2)), Error);
  const void* before = cache.keys(0).data_ptr();
  cache.reserve_more(1);
  CHECK(cache.capacity() >= 3);
  CHECK(cache.keys(0).data_ptr() != before);
  const auto [k, v] = cache.append(0, positions(1, 1, 2), positions(1, 1, 2));
  CHECK(torch::equal(k, positions(1, 3, 0)));
  // The key bias grew with it; the new position may be attended to.
  CHECK(torch::equal(cache.key_bias(1).reshape({1, 3}), torch::tensor({{-1.0f, 0.0f, 0.0f}})));
  const int64_t capacity = cache.capacity();
  cache.advance(1);
  cache.reserve_more(1);
  CHECK(cache.capacity() == capacity);  // room left: nothing reallocated
}

TEST_CASE("select keeps, repeats and reorders rows of every buffer and the key bias") {
  nn::KvCache cache;
  cache.allocate(2, 2, 2, 3, 4, torch::TensorOptions(), true);
  for (size_t layer = 0; layer < 2; ++layer) {
    const at::Tensor rows = torch::stack({positions(1, 2, 0)[0], positions(1, 2, 10)[0]});
    cache.append(layer, rows, rows + 100);
  }
  cache.write_key_bias(torch::tensor({{0.0f, -1.0f}, {0.0f, 0.0f}}));
  cache.advance(2);
  cache.select(torch::tensor({1, 1, 0}, torch::kLong));
  CHECK(cache.rows() == 3);
  CHECK(torch::equal(cache.keys(1)[0], positions(1, 2, 10)[0]));
  CHECK(torch::equal(cache.values(0)[2], positions(1, 2, 100)[0]));
  CHECK(torch::equal(cache.key_bias(0).reshape({3, 2}), torch::tensor({{0.0f, 0.0f}, {0.0f, 0.0f}, {0.0f, -1.0f}})));
}

TEST_CASE("capacity_for: the prefix plus every planned step, or room for some when they are unknown") {
  CHECK(nn::KvCache::capacity_for(33, 20) == 53);
  CHECK(nn::KvCache::capacity_for(1, 30) == 31);
  CHECK(nn::KvCache::capacity_for(33) == 33 + 32);
  CHECK(nn::KvCache::capacity_for(100, 0) == 150);
}

TEST_CASE("a reorder that keeps the row count rewrites rows in place, repeats and swaps included") {
  nn::KvCache cache;
  cache.allocate(2, 4, 2, 3, 6, torch::TensorOptions(), true);
  std::vector<at::Tensor> rows;
  for (int64_t r = 0; r < 4; ++r) rows.push_back(positions(1, 3, 10.0 * r)[0]);
  const at::Tensor keys = torch::stack(rows);
  for (size_t layer = 0; layer < 2; ++layer) cache.append(layer, keys, keys + 100);
  cache.write_key_bias(torch::tensor({{0.0f, -1.0f, 0.0f}, {0.0f, 0.0f, -2.0f}, {-3.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f}}));
  cache.advance(3);
  const void* before = cache.keys(0).data_ptr();
  const at::Tensor order = torch::tensor({2, 2, 0, 3}, torch::kLong);  // row 1 dropped, row 2 repeated
  cache.select(order);
  CHECK(cache.keys(0).data_ptr() == before);  // in place
  CHECK(cache.rows() == 4);
  for (size_t layer = 0; layer < 2; ++layer) {
    CHECK(torch::equal(cache.keys(layer), keys.index_select(0, order)));
    CHECK(torch::equal(cache.values(layer), (keys + 100).index_select(0, order)));
  }
  CHECK(torch::equal(cache.key_bias(0).reshape({4, 3}),
                     torch::tensor({{-3.0f, 0.0f, 0.0f}, {-3.0f, 0.0f, 0.0f}, {0.0f, -1.0f, 0.0f}, {0.0f, 0.0f, 0.0f}})));
  // Appending after the reorder writes every row's next position.
  cache.append(0, positions(4, 1, 50), positions(4, 1, 150));
  CHECK(torch::equal(cache.keys(0).narrow(2, 0, 3), keys.index_select(0, order)));
}
