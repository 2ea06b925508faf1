#pragma once
// The per-batch state of a decoder whose every tensor has the row as its
// first dimension: a decoder declares its tensors and caches once (track()),
// and select() keeps rows of all of them, so that no decoder writes its own
// reordering for beam search.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "core/nn/kv_cache.h"
#include "core/plugin_api.h"

namespace capbench::nn {

class BatchState : public DecoderState {
 public:
  BatchState() = default;
  // The tracked members are held by address: a state never moves.
  BatchState(const BatchState&) = delete;
  BatchState& operator=(const BatchState&) = delete;

  // Keeps rows `rows` ([R'] integers on any device, repeats allowed) of every
  // tracked tensor and cache, in that order (TextDecoder::select). Rows 0..R-1
  // in order change nothing.
  void select(const at::Tensor& rows);
  // R, the rows of the first tracked tensor or cache.
  int64_t rows() const;

 protected:
  // Declares members, in the derived state's constructor. An undefined tensor
  // is skipped by select().
  void track(at::Tensor& batch_major);
  void track(KvCache& cache);

 private:
  c10::Device device() const;
  std::vector<at::Tensor*> tensors_;
  std::vector<KvCache*> caches_;
};

// The state as the decoder's own type; throws Error naming `decoder` when
// another decoder made it.
template <class State>
State& state_of(DecoderState& state, const std::string& decoder) {
  auto* own = dynamic_cast<State*>(&state);
  if (own == nullptr) throw Error(decoder + ": the decoder state was made by another decoder");
  return *own;
}

}  // namespace capbench::nn
