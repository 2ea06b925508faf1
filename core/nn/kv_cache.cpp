#include "core/nn/kv_cache.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"

namespace capbench::nn {

int64_t KvCache::capacity_for(int64_t needed, int64_t steps) {
  return needed + (steps > 0 ? steps : std::max<int64_t>(32, needed / 2));
}

void KvCache::allocate(int64_t layers, int64_t rows, int64_t heads, int64_t head_dim, int64_t capacity,
                       const at::TensorOptions& options, bool key_bias) {
  keys_.clear();
  values_.clear();
  for (int64_t i = 0; i < layers; ++i) {
    keys_.push_back(at::empty({rows, heads, capacity, head_dim}, options));
    values_.push_back(at::empty({rows, heads, capacity, head_dim}, options));
  }
  key_bias_ = key_bias ? at::zeros({rows, capacity}, options) : at::Tensor();
  length_ = 0;
  capacity_ = capacity;
}

void KvCache::reserve_more(int64_t count) {
  if (length_ + count > capacity_) grow(capacity_for(length_ + count));
}

void KvCache::grow(int64_t capacity) {
  for (auto* buffers : {&keys_, &values_}) {
    for (at::Tensor& buffer : *buffers) {
      at::Tensor bigger = at::empty({buffer.size(0), buffer.size(1), capacity, buffer.size(3)}, buffer.options());
      bigger.narrow(2, 0, length_).copy_(buffer.narrow(2, 0, length_));
      buffer = bigger;
    }
  }
  if (key_bias_.defined()) {
    at::Tensor bigger = at::zeros({key_bias_.size(0), capacity}, key_bias_.options());
    bigger.narrow(1, 0, length_).copy_(key_bias_.narrow(1, 0, length_));
    key_bias_ = bigger;
  }
  capacity_ = capacity;
}

std::pair<at::Tensor, at::Tensor> KvCache::append(size_t layer, const at::Tensor& k, const at::Tensor& v) {
  const int64_t n = k.size(2);
  if (layer >= keys_.size()) throw Error("KvCache: layer " + std::to_string(layer) + " of " + std::to_string(keys_.size()));
  if (length_ + n > capacity_)
    throw Error("KvCache: appending " + std::to_string(n) + " positions to " + std::to_string(length_) + " of " +
                std::to_string(capacity_) + " (reserve_more() first)");
  keys_[layer].narrow(2, length_, n).copy_(k);
  values_[layer].narrow(2, length_, n).copy_(v);
  return {keys_[layer].narrow(2, 0, length_ + n), values_[layer].narrow(2, 0, length_ + n)};
}

void KvCache::advance(int64_t n) { length_ += n; }

at::Tensor KvCache::keys(size_t layer) const { return keys_.at(layer).narrow(2, 0, length_); }
at::Tensor KvCache::values(size_t layer) const { return values_.at(layer).narrow(2, 0, length_); }

void KvCache::write_key_bias(const at::Tensor& bias) {
  if (!key_bias_.defined()) throw Error("KvCache: write_key_bias() on a cache allocated without a key bias");
  key_bias_.narrow(1, length_, bias.size(1)).copy_(bias);
}

at::Tensor KvCache::key_bias(int64_t n) const {
  if (!key_bias_.defined()) return {};
  const int64_t keys = length_ + n;
  return key_bias_.narrow(1, 0, keys).view({key_bias_.size(0), 1, 1, keys});
}

void KvCache::select(const at::Tensor& rows) {
  if (rows.size(0) == this->rows()) {
    // Beam search reorders rows without changing their number: only the rows
    // that change are rewritten, and only their filled positions, from a copy
    // of their sources (not every buffer in full each step).
    const at::Tensor cpu = rows.to(at::kCPU, at::kLong).contiguous();
    const int64_t* source = cpu.data_ptr<int64_t>();
    std::vector<int64_t> changed, from;
    for (int64_t r = 0; r < cpu.size(0); ++r)
      if (source[r] != r) changed.push_back(r), from.push_back(source[r]);
    if (changed.empty() || length_ == 0) return;
    const auto index = at::TensorOptions().dtype(at::kLong).device(rows.device());
    const at::Tensor targets = at::tensor(changed, at::kLong).to(index.device()),
                     sources = at::tensor(from, at::kLong).to(index.device());
    for (auto* buffers : {&keys_, &values_}) {
      for (at::Tensor& buffer : *buffers) {
        at::Tensor filled = buffer.narrow(2, 0, length_);
        filled.index_copy_(0, targets, filled.index_select(0, sources));
      }
    }
    // Past length() the key bias is 0 in every row.
    if (key_bias_.defined()) {
      at::Tensor filled = key_bias_.narrow(1, 0, length_);
      filled.index_copy_(0, targets, filled.index_select(0, sources));
    }
    return;
  }
  for (auto* buffers : {&keys_, &values_})
    for (at::Tensor& buffer : *buffers) buffer = buffer.index_select(0, rows);
  if (key_bias_.defined()) key_bias_ = key_bias_.index_select(0, rows);
}

int64_t KvCache::rows() const { return keys_.empty() ? 0 : keys_.front().size(0); }

}  // namespace capbench::nn
