#include "core/nn/decoder_state.h"

#include <ATen/ATen.h>

namespace capbench::nn {

void BatchState::track(at::Tensor& batch_major) { tensors_.push_back(&batch_major); }
void BatchState::track(KvCache& cache) { caches_.push_back(&cache); }

int64_t BatchState::rows() const {
  for (const KvCache* cache : caches_)
    if (cache->layers() > 0) return cache->rows();
  for (const at::Tensor* tensor : tensors_)
    if (tensor->defined()) return tensor->size(0);
  return 0;
}

c10::Device BatchState::device() const {
  for (const KvCache* cache : caches_)
    if (cache->layers() > 0) return cache->keys(0).device();
  for (const at::Tensor* tensor : tensors_)
    if (tensor->defined()) return tensor->device();
  return c10::Device(c10::kCPU);
}

void BatchState::select(const at::Tensor& rows) {
  const at::Tensor index = rows.to(device(), at::kLong).reshape({-1});
  const int64_t current = this->rows();
  if (index.size(0) == current && index.equal(at::arange(current, index.options()))) return;
  for (KvCache* cache : caches_) cache->select(index);
  for (at::Tensor* tensor : tensors_)
    if (tensor->defined()) *tensor = tensor->index_select(0, index);
}

}  // namespace capbench::nn
