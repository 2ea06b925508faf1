#pragma once
// A lookup table with parameter "weight" [rows, dim]: token, position and
// token-type embeddings, T5's relative position buckets.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace capbench::nn {

class Embedding : public torch::nn::Module {
 public:
  Embedding(int64_t rows, int64_t dim);
  // ids (any shape, int64) -> [..., dim]
  at::Tensor forward(const at::Tensor& ids) const;
  // Rows first..first+count-1 as a view [count, dim] (positions 0..T-1).
  at::Tensor rows(int64_t first, int64_t count) const;
  int64_t size() const { return weight_.size(0); }
  // The table itself, for a layer that shares it (a tied lm_head).
  const at::Tensor& weight() const { return weight_; }

 private:
  at::Tensor weight_;
};

}  // namespace capbench::nn
