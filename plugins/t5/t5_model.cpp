#include "plugins/t5/t5_model.h"

#include <ATen/ATen.h>

#include <cmath>
#include <tuple>

#include "core/error.h"
#include "core/module_loading.h"
#include "core/nn/attention.h"
#include "core/nn/feed_forward.h"
#include "core/nn/masks.h"
#include "core/nn/module_tree.h"

namespace capbench::t5 {

namespace {

// No 1/sqrt(d_kv) (T5 folds it into its weights); the softmax in float32.
const nn::AttentionSpec kAttention{nn::ScoreScale::none(), nn::SoftmaxPrecision::float32};

std::shared_ptr<nn::RMSNorm> rms_norm(const T5Config& c) {
  return std::make_shared<nn::RMSNorm>(c.d_model, c.layer_norm_epsilon);
}

// Positions 0..n-1 as key - query: [n,n].
at::Tensor relative_positions(int64_t n, const c10::Device& device) {
  const at::Tensor positions = at::arange(n, at::TensorOptions().dtype(at::kLong).device(device));
  return positions.unsqueeze(0) - positions.unsqueeze(1);
}

}  // namespace

at::Tensor relative_position_bucket(const at::Tensor& relative_position, bool bidirectional, int64_t num_buckets,
                                    int64_t max_distance) {
  at::Tensor buckets = at::zeros_like(relative_position);
  at::Tensor distance;
  if (bidirectional) {
    num_buckets /= 2;
    buckets = buckets + relative_position.gt(0).to(at::kLong) * num_buckets;
    distance = relative_position.abs();
  } else {
    distance = -at::minimum(relative_position, at::zeros_like(relative_position));
  }
  const int64_t max_exact = num_buckets / 2;
  at::Tensor is_small = distance.lt(max_exact);
  // Logarithmic buckets up to max_distance, in float32 and truncated toward zero as transformers does.
  at::Tensor if_large = (at::log(distance.to(at::kFloat) / static_cast<double>(max_exact)) /
                         std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)) *
                         (num_buckets - max_exact))
                            .to(at::kLong) +
                        max_exact;
  if_large = at::minimum(if_large, at::full_like(if_large, num_buckets - 1));
  return buckets + at::where(is_small, distance, if_large);
}

T5AttentionLayer::T5AttentionLayer(const T5Config& c, const std::string& kind, bool relative_bias)
    : heads_(c.num_heads) {
  auto attention = nn::level(*this, kind);
  q_ = attention->register_module("q", std::make_shared<nn::Linear>(c.d_model, c.inner_dim(), false));
  k_ = attention->register_module("k", std::make_shared<nn::Linear>(c.d_model, c.inner_dim(), false));
  v_ = attention->register_module("v", std::make_shared<nn::Linear>(c.d_model, c.inner_dim(), false));
  o_ = attention->register_module("o", std::make_shared<nn::Linear>(c.inner_dim(), c.d_model, false));
  if (relative_bias)
    relative_attention_bias_ = attention->register_module(
        "relative_attention_bias", std::make_shared<nn::Embedding>(c.relative_attention_num_buckets, c.num_heads));
  layer_norm_ = register_module("layer_norm", rms_norm(c));
}

at::Tensor T5AttentionLayer::attend(const at::Tensor& h, const at::Tensor& q, const at::Tensor& k,
                                    const at::Tensor& v, const at::Tensor& bias) const {
  return h + o_->forward(nn::attention(q, k, v, bias, kAttention));
}

at::Tensor T5AttentionLayer::self_attention(const at::Tensor& h, const at::Tensor& bias, nn::KvCache* cache,
                                            size_t layer) const {
  const at::Tensor x = layer_norm_->forward(h);
  auto [k, v] = keys_values(x);
  if (cache) std::tie(k, v) = cache->append(layer, k, v);
  return attend(h, nn::split_heads(q_->forward(x), heads_), k, v, bias);
}

at::Tensor T5AttentionLayer::cross_attention(const at::Tensor& h, const at::Tensor& keys, const at::Tensor& values,
                                             const at::Tensor& bias) const {
  return attend(h, nn::split_heads(q_->forward(layer_norm_->forward(h)), heads_), keys, values, bias);
}

std::pair<at::Tensor, at::Tensor> T5AttentionLayer::keys_values(const at::Tensor& source) const {
  return {nn::split_heads(k_->forward(source), heads_), nn::split_heads(v_->forward(source), heads_)};
}

T5FeedForwardLayer::T5FeedForwardLayer(const T5Config& c) : act_(c.dense_act_fn) {
  auto dense = nn::level(*this, "DenseReluDense");
  if (c.is_gated_act) {
    wi_0_ = dense->register_module("wi_0", std::make_shared<nn::Linear>(c.d_model, c.d_ff, false));
    wi_1_ = dense->register_module("wi_1", std::make_shared<nn::Linear>(c.d_model, c.d_ff, false));
  } else {
    wi_0_ = dense->register_module("wi", std::make_shared<nn::Linear>(c.d_model, c.d_ff, false));
  }
  wi_0_->set_activation(act_);
  wo_ = dense->register_module("wo", std::make_shared<nn::Linear>(c.d_ff, c.d_model, false));
  layer_norm_ = register_module("layer_norm", rms_norm(c));
}

at::Tensor T5FeedForwardLayer::forward(const at::Tensor& h) const {
  const at::Tensor x = layer_norm_->forward(h);
  return h + (wi_1_ ? nn::gated_feed_forward(x, *wi_0_, *wi_1_, act_, *wo_) : nn::feed_forward(x, *wi_0_, act_, *wo_));
}

T5Block::T5Block(const T5Config& c, bool decoder, bool first) {
  auto layer = nn::level(*this, "layer");
  self_attention = layer->register_module("0", std::make_shared<T5AttentionLayer>(c, "SelfAttention", first));
  if (decoder) cross_attention = layer->register_module("1", std::make_shared<T5AttentionLayer>(c, "EncDecAttention", false));
  feed_forward = layer->register_module(decoder ? "2" : "1", std::make_shared<T5FeedForwardLayer>(c));
}

T5Stack::T5Stack(const T5Config& c, bool decoder)
    : bidirectional(!decoder),
      num_buckets(c.relative_attention_num_buckets),
      max_distance(c.relative_attention_max_distance) {
  blocks = nn::layer_list<T5Block>(*this, "block", decoder ? c.num_decoder_layers : c.num_layers,
                                   [&](int64_t i) { return std::make_shared<T5Block>(c, decoder, i == 0); });
  final_layer_norm = register_module("final_layer_norm", rms_norm(c));
}

at::Tensor T5Stack::position_bias(const at::Tensor& relative_position) const {
  const at::Tensor buckets = relative_position_bucket(relative_position, bidirectional, num_buckets, max_distance);
  return blocks.front()->self_attention->relative_attention_bias().forward(buckets).permute({2, 0, 1}).unsqueeze(0);
}

T5Model::T5Model(T5Config config, const Checkpoint& checkpoint, const std::string& prefix, const nn::Placement& place)
    : config_(std::move(config)), place_(place) {
  const T5Config& c = config_;
  shared_ = register_module("shared", std::make_shared<nn::Embedding>(c.vocab_size, c.d_model));
  encoder_ = register_module("encoder", std::make_shared<T5Stack>(c, false));
  decoder_ = register_module("decoder", std::make_shared<T5Stack>(c, true));
  if (!c.tie_word_embeddings) lm_head_ = register_module("lm_head", std::make_shared<nn::Linear>(c.d_model, c.vocab_size, false));

  LoadOptions options = nn::load_options(place, *this);
  // The embeddings are one tensor in transformers; older exports also store the
  // stacks' copies (and the lm_head even when it is tied to them).
  options.tied["shared.weight"] = "encoder.embed_tokens.weight";
  options.ignore = {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight"};
  if (c.tie_word_embeddings) options.ignore.insert("lm_head.weight");
  load_module(*this, checkpoint, prefix, options);
  if (c.tie_word_embeddings) lm_head_ = register_module("lm_head", std::make_shared<nn::Linear>(shared_->weight()));
  nn::prepare(*this, place);
}

at::Tensor T5Model::embed(const at::Tensor& ids) const { return shared_->forward(ids); }

at::Tensor T5Model::encode(const at::Tensor& inputs_embeds, const at::Tensor& padding_bias,
                           std::vector<at::Tensor>* hidden_states) const {
  const at::Tensor bias = encoder_->position_bias(relative_positions(inputs_embeds.size(1), place_.device)) + padding_bias;
  at::Tensor h = inputs_embeds;
  for (const auto& block : encoder_->blocks) {
    if (hidden_states) hidden_states->push_back(h);
    h = block->feed_forward->forward(block->self_attention->self_attention(h, bias, nullptr, 0));
  }
  at::Tensor out = encoder_->final_layer_norm->forward(h);
  if (hidden_states) hidden_states->push_back(out);
  return out;
}

void T5Model::start_state(T5State& state, const at::Tensor& encoder_output, const at::Tensor& padding_bias) const {
  const int64_t rows = encoder_output.size(0), length = encoder_output.size(1);
  const auto layers = static_cast<int64_t>(decoder_->blocks.size());
  state.padding_bias = padding_bias;
  state.cross.allocate(layers, rows, config_.num_heads, config_.d_kv, length, place_.options());
  for (size_t i = 0; i < decoder_->blocks.size(); ++i) {
    auto [k, v] = decoder_->blocks[i]->cross_attention->keys_values(encoder_output);
    state.cross.append(i, k, v);
  }
  state.cross.advance(length);
  state.self.allocate(layers, rows, config_.num_heads, config_.d_kv, nn::KvCache::capacity_for(1, state.steps), place_.options());
}

at::Tensor T5Model::decode(const at::Tensor& decoder_ids, const at::Tensor& encoder_output,
                           const at::Tensor& padding_bias, std::vector<at::Tensor>* hidden_states) const {
  const int64_t length = decoder_ids.size(1);
  const at::Tensor self_bias = decoder_->position_bias(relative_positions(length, place_.device)) +
                               nn::additive_mask(nn::causal_keep(length, place_.device), place_.dtype);
  at::Tensor h = embed(decoder_ids);
  for (const auto& block : decoder_->blocks) {
    if (hidden_states) hidden_states->push_back(h);
    auto [keys, values] = block->cross_attention->keys_values(encoder_output);
    h = block->self_attention->self_attention(h, self_bias, nullptr, 0);
    h = block->feed_forward->forward(block->cross_attention->cross_attention(h, keys, values, padding_bias));
  }
  at::Tensor out = decoder_->final_layer_norm->forward(h);
  if (hidden_states) hidden_states->push_back(out);
  return out;
}

at::Tensor T5Model::decode_step(const at::Tensor& tokens, T5State& state) const {
  nn::KvCache& self = state.self;
  self.reserve_more(1);
  const int64_t capacity = self.capacity(), p = self.length();
  if (!state.bias_by_reversed_distance.defined() || state.bias_by_reversed_distance.size(3) != capacity) {
    // Query position capacity-1 against every key: distances capacity-1 ... 0.
    const at::Tensor keys = at::arange(capacity, at::TensorOptions().dtype(at::kLong).device(place_.device));
    state.bias_by_reversed_distance = decoder_->position_bias((keys - (capacity - 1)).unsqueeze(0));
  }
  const at::Tensor self_bias = state.bias_by_reversed_distance.narrow(3, capacity - 1 - p, p + 1);
  at::Tensor h = embed(tokens.reshape({-1, 1}));
  for (size_t i = 0; i < decoder_->blocks.size(); ++i) {
    const T5Block& block = *decoder_->blocks[i];
    h = block.self_attention->self_attention(h, self_bias, &self, i);
    h = block.cross_attention->cross_attention(h, state.cross.keys(i), state.cross.values(i), state.padding_bias);
    h = block.feed_forward->forward(h);
  }
  self.advance(1);
  return decoder_->final_layer_norm->forward(h).squeeze(1);
}

at::Tensor T5Model::logits(const at::Tensor& decoder_output) const {
  // Tied embeddings: transformers rescales the decoder output before the shared matrix.
  const at::Tensor x = config_.tie_word_embeddings
                           ? decoder_output * std::pow(static_cast<double>(config_.d_model), -0.5)
                           : decoder_output;
  return lm_head_->forward(x).to(at::kFloat);
}

}  // namespace capbench::t5
