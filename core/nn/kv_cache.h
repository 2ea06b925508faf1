#pragma once
// The keys and values of every attention layer of a decoder, for R rows, in
// buffers allocated once for `capacity` positions: [R, heads, capacity,
// head_dim] per layer, the first length() positions filled. Appending writes in
// place; attention reads the filled prefix as a view, never a copy. A cache may
// also keep a key bias [R, capacity] (0 = attend, the dtype's lowest value =
// padding): the padding of each row's prompt, read by every later step.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace capbench::nn {

class KvCache {
 public:
  // The capacity to allocate for `needed` positions (the prefix) and then
  // `steps` more, one per decoding step; with steps 0 (unknown), room for some
  // steps beyond the prefix, and growth as the fallback.
  static int64_t capacity_for(int64_t needed, int64_t steps = 0);

  // Allocates the buffers; length() becomes 0. With key_bias, the key bias is
  // kept too (zeros: every position may be attended to).
  void allocate(int64_t layers, int64_t rows, int64_t heads, int64_t head_dim, int64_t capacity,
                const at::TensorOptions& options, bool key_bias = false);

  // Ensures room for `count` positions after length(): grows (copying the
  // filled part) only when the capacity is short.
  void reserve_more(int64_t count);

  // Writes k, v [R,H,n,d] of `layer` at positions length()..length()+n-1 and
  // returns that layer's keys and values up to them, as views [R,H,length()+n,d].
  // Every layer appends the same n; advance(n) then marks them filled.
  std::pair<at::Tensor, at::Tensor> append(size_t layer, const at::Tensor& k, const at::Tensor& v);
  void advance(int64_t n);

  // The filled keys / values of `layer`, views [R,H,length(),d].
  at::Tensor keys(size_t layer) const;
  at::Tensor values(size_t layer) const;

  // Writes the key bias [R,n] of positions length()..length()+n-1.
  void write_key_bias(const at::Tensor& bias);
  // The key bias of positions 0..length()+n-1, a view [R,1,1,length()+n] to add
  // to the scores of the n positions being appended.
  at::Tensor key_bias(int64_t n) const;

  // Keeps rows `rows` ([R'] int64 on the cache's device, repeats allowed) of
  // every buffer, in that order.
  void select(const at::Tensor& rows);

  int64_t length() const { return length_; }
  int64_t capacity() const { return capacity_; }
  int64_t rows() const;
  size_t layers() const { return keys_.size(); }

 private:
  void grow(int64_t capacity);
  std::vector<at::Tensor> keys_, values_;  // [R,H,capacity,d]
  at::Tensor key_bias_;                    // [R,capacity] or undefined
  int64_t length_ = 0;
  int64_t capacity_ = 0;
};

}  // namespace capbench::nn
