#pragma once
// The feed-forward blocks of the five models, over nn::Linear layers (the
// model owns the layers under its checkpoint's names; these compose them).
#include <ATen/core/Tensor.h>

#include <string>

#include "core/nn/linear.h"

namespace capbench::nn {

// act(layer(x)), by the layer itself when it was given `act` (Linear::set_activation:
// fused into its product) and here otherwise. A model gives the first layer of
// each block its activation when it is built.
at::Tensor activated(const Linear& layer, const std::string& act, const at::Tensor& x);

// down(act(up(x))): OPT's fc1/fc2, the ViT's MLP, BERT's intermediate/output.
at::Tensor feed_forward(const at::Tensor& x, const Linear& up, const std::string& act, const Linear& down);

// down(act(gate(x)) * up(x)): T5's gated feed-forward (wi_0 gate, wi_1 up).
// (transformers casts the product to wo's dtype when they differ; every layer of
// a capbench model has the model's one dtype, so they never do.)
at::Tensor gated_feed_forward(const at::Tensor& x, const Linear& gate, const Linear& up, const std::string& act,
                              const Linear& down);

}  // namespace capbench::nn
