#pragma once
// BLIP-2's EVA ViT (transformers' Blip2VisionModel) as a module tree whose
// parameter names are the checkpoint's names under "vision_model.".
#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "core/blip2_config.h"
#include "core/nn/linear.h"
#include "core/nn/norms.h"
#include "core/nn/placement.h"

namespace capbench::blip2 {

class VisionAttention : public torch::nn::Module {
 public:
  // split_bias: the checkpoint stores q_bias and v_bias (older transformers)
  // instead of the fused qkv.bias.
  VisionAttention(const Blip2VisionConfig& config, bool split_bias);
  // Gives qkv the bias cat(q_bias, 0, v_bias) once the split biases are loaded.
  void fuse_split_bias();
  at::Tensor forward(const at::Tensor& x) const;

 private:
  int64_t heads_;
  std::shared_ptr<nn::Linear> qkv_, projection_;
  at::Tensor q_bias_, v_bias_;
};

class VisionLayer : public torch::nn::Module {
 public:
  VisionLayer(const Blip2VisionConfig& config, bool split_bias);
  at::Tensor forward(const at::Tensor& x) const;
  VisionAttention& attention() { return *self_attn_; }

 private:
  std::string act_;
  std::shared_ptr<nn::LayerNorm> layer_norm1_, layer_norm2_;
  std::shared_ptr<VisionAttention> self_attn_;
  std::shared_ptr<nn::Linear> fc1_, fc2_;
};

struct VisionOutput {
  at::Tensor last_hidden_state;           // [B,N+1,D] after post_layernorm
  at::Tensor pooler_output;               // [B,D]: post_layernorm applied again to the class token
  std::vector<at::Tensor> hidden_states;  // embeddings, then each layer (before post_layernorm)
};

class EvaVit : public torch::nn::Module {
 public:
  EvaVit(const Blip2VisionConfig& config, bool split_bias);
  // Call once after load_module(): fuses split biases and prepares the layers for `place`.
  void loaded(const nn::Placement& place);
  // pixel_values [B,3,H,W] already in the module's dtype and device.
  VisionOutput forward(const at::Tensor& pixel_values, bool want_hidden_states) const;

 private:
  Blip2VisionConfig config_;
  at::Tensor class_embedding_, position_embedding_, patch_weight_, patch_bias_;
  std::vector<std::shared_ptr<VisionLayer>> layers_;
  std::shared_ptr<nn::LayerNorm> post_layernorm_;
};

}  // namespace capbench::blip2
