#include "plugins/t5/t5_weights.h"

#include <torch/nn/module.h>

#include <map>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/module_loading.h"

namespace capbench::t5 {

namespace {

// A module tree built from dotted parameter names, so that load_module sees
// exactly transformers' names without one C++ class per HF module.
class ParameterTree : public torch::nn::Module {
 public:
  void add(const std::string& dotted, const at::Tensor& value) {
    const auto dot = dotted.find('.');
    if (dot == std::string::npos) {
      register_parameter(dotted, value, /*requires_grad=*/false);
      return;
    }
    const std::string head = dotted.substr(0, dot);
    auto& child = children_[head];
    if (!child) child = register_module(head, std::make_shared<ParameterTree>());
    child->add(dotted.substr(dot + 1), value);
  }

 private:
  std::map<std::string, std::shared_ptr<ParameterTree>> children_;
};

class Builder {
 public:
  Builder(const T5Config& config, const at::TensorOptions& options) : c_(config), options_(options) {}

  at::Tensor add(const std::string& name, std::vector<int64_t> shape) {
    at::Tensor t = at::empty(shape, options_);
    tree_.add(name, t);
    return t;
  }

  AttentionWeights attention(const std::string& at, const std::string& kind) {
    const std::string p = at + "." + kind + ".";
    return {add(at + ".layer_norm.weight", {c_.d_model}), add(p + "q.weight", {c_.inner_dim(), c_.d_model}),
            add(p + "k.weight", {c_.inner_dim(), c_.d_model}), add(p + "v.weight", {c_.inner_dim(), c_.d_model}),
            add(p + "o.weight", {c_.d_model, c_.inner_dim()})};
  }

  FeedForwardWeights feed_forward(const std::string& at) {
    const std::string p = at + ".DenseReluDense.";
    FeedForwardWeights w;
    w.norm = add(at + ".layer_norm.weight", {c_.d_model});
    if (c_.is_gated_act) {
      w.wi_0 = add(p + "wi_0.weight", {c_.d_ff, c_.d_model});
      w.wi_1 = add(p + "wi_1.weight", {c_.d_ff, c_.d_model});
    } else {
      w.wi_0 = add(p + "wi.weight", {c_.d_ff, c_.d_model});
    }
    w.wo = add(p + "wo.weight", {c_.d_model, c_.d_ff});
    return w;
  }

  at::Tensor relative_bias(const std::string& stack) {
    return add(stack + ".block.0.layer.0.SelfAttention.relative_attention_bias.weight",
               {c_.relative_attention_num_buckets, c_.num_heads});
  }

  ParameterTree& tree() { return tree_; }

 private:
  const T5Config& c_;
  at::TensorOptions options_;
  ParameterTree tree_;
};

}  // namespace

T5Weights load_t5_weights(const Checkpoint& checkpoint, const T5Source& source, at::ScalarType dtype,
                          const c10::Device& device) {
  const T5Config& c = source.config;
  // Uninitialised CPU tensors touch no memory; loading replaces each with the checkpoint's.
  Builder b(c, at::TensorOptions().dtype(dtype));
  T5Weights w;
  w.shared = b.add("shared.weight", {c.vocab_size, c.d_model});
  w.encoder_relative_bias = b.relative_bias("encoder");
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string block = "encoder.block." + std::to_string(i);
    w.encoder.push_back({b.attention(block + ".layer.0", "SelfAttention"), b.feed_forward(block + ".layer.1")});
  }
  w.encoder_final_norm = b.add("encoder.final_layer_norm.weight", {c.d_model});
  w.decoder_relative_bias = b.relative_bias("decoder");
  for (int64_t i = 0; i < c.num_decoder_layers; ++i) {
    const std::string block = "decoder.block." + std::to_string(i);
    w.decoder.push_back({b.attention(block + ".layer.0", "SelfAttention"),
                         b.attention(block + ".layer.1", "EncDecAttention"), b.feed_forward(block + ".layer.2")});
  }
  w.decoder_final_norm = b.add("decoder.final_layer_norm.weight", {c.d_model});
  w.lm_head = c.tie_word_embeddings ? w.shared : b.add("lm_head.weight", {c.vocab_size, c.d_model});

  LoadOptions options;
  options.dtype = dtype;
  options.device = device;
  // The embeddings are one tensor in transformers; older exports also store the
  // stacks' copies (and the lm_head even when it is tied to them).
  options.tied["shared.weight"] = "encoder.embed_tokens.weight";
  options.ignore = {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight"};
  if (c.tie_word_embeddings) options.ignore.insert("lm_head.weight");
  load_module(b.tree(), checkpoint, source.prefix, options);
  return w;
}

}  // namespace capbench::t5
