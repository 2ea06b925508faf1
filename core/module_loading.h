#pragma once
// Filling a libtorch module tree from a checkpoint, strictly: every parameter and
// buffer must come from the checkpoint, and every checkpoint tensor under the
// prefix must be used, with the same shape.
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <map>
#include <set>
#include <string>

#include "core/checkpoint.h"

namespace torch::nn {
class Module;
}

namespace capbench {

struct LoadOptions {
  at::ScalarType dtype = at::kFloat;          // floating tensors are converted to this; integer buffers keep theirs
  c10::Device device = c10::Device(c10::kCPU);
  std::map<std::string, std::string> tied;    // module param name -> checkpoint name (both WITHOUT prefix) to use when the param's own tensor is absent (e.g. OPT "lm_head.weight" -> "model.decoder.embed_tokens.weight")
  std::set<std::string> ignore;               // checkpoint names (without prefix) that may be present but unused (e.g. "embeddings.position_ids")
  std::set<std::string> keep_stored;          // module param names loaded in the checkpoint's own dtype (on the CPU: views of the file), e.g. weights nn::prepare() packs one at a time (nn::load_options)
};

// Fills every parameter and buffer of `module` (libtorch names, "." separated, e.g.
// "encoder.layers.0.self_attn.qkv.weight") from checkpoint tensors named prefix + name.
// Strict: missing, unexpected (under prefix) and shape-mismatched names are reported together
// in ONE capbench::Error (first few of each, then counts). One tensor at a time, never two
// copies of the weights: on CPU fp32->fp32 the parameter becomes the zero-copy mmap view.
// Parameters that share one tensor (or are tied to one checkpoint tensor) end up sharing
// one storage. Construct modules with uninitialised tensors (at::empty: no memory is
// touched until written) rather than randomly initialised ones, so that building the tree
// does not cost a copy of the weights before loading replaces them.
void load_module(torch::nn::Module& module, const Checkpoint& checkpoint, const std::string& prefix,
                 const LoadOptions& options = {});

}  // namespace capbench
