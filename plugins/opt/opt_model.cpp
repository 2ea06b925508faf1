#include "plugins/opt/opt_model.h"

#include <ATen/ATen.h>

#include <cmath>
#include <tuple>

#include "core/error.h"
#include "core/module_loading.h"
#include "core/nn/attention.h"
#include "core/nn/feed_forward.h"
#include "core/nn/masks.h"
#include "core/nn/module_tree.h"

namespace capbench::opt {

namespace {

constexpr double kLayerNormEps = 1e-5;  // torch.nn.LayerNorm's default, which OPT uses
constexpr int64_t kPositionOffset = 2;  // OPTLearnedPositionalEmbedding's offset (its first 2 rows)

std::shared_ptr<nn::LayerNorm> norm(const OptConfig& c) {
  return std::make_shared<nn::LayerNorm>(c.hidden_size, kLayerNormEps, c.layer_norm_elementwise_affine);
}

}  // namespace

OptAttention::OptAttention(const OptConfig& c)
    : heads_(c.num_attention_heads), scaling_(std::pow(static_cast<double>(c.head_dim()), -0.5)) {
  const int64_t d = c.hidden_size;
  k_proj_ = register_module("k_proj", std::make_shared<nn::Linear>(d, d, c.enable_bias));
  v_proj_ = register_module("v_proj", std::make_shared<nn::Linear>(d, d, c.enable_bias));
  q_proj_ = register_module("q_proj", std::make_shared<nn::Linear>(d, d, c.enable_bias));
  out_proj_ = register_module("out_proj", std::make_shared<nn::Linear>(d, d, c.enable_bias));
}

at::Tensor OptAttention::forward(const at::Tensor& x, const at::Tensor& bias, nn::KvCache* cache, size_t layer) const {
  // OPT scales the query, not the scores.
  const at::Tensor q = nn::split_heads(q_proj_->forward(x) * scaling_, heads_);
  at::Tensor k = nn::split_heads(k_proj_->forward(x), heads_);
  at::Tensor v = nn::split_heads(v_proj_->forward(x), heads_);
  if (cache) std::tie(k, v) = cache->append(layer, k, v);
  const nn::AttentionSpec spec{nn::ScoreScale::none(), nn::SoftmaxPrecision::float32_for_fp16, /*clamp_at_lowest=*/true};
  return out_proj_->forward(nn::attention(q, k, v, bias, spec));
}

OptLayer::OptLayer(const OptConfig& c) : pre_norm_(c.do_layer_norm_before), act_(c.activation_function) {
  self_attn_ = register_module("self_attn", std::make_shared<OptAttention>(c));
  self_attn_layer_norm_ = register_module("self_attn_layer_norm", norm(c));
  fc1_ = register_module("fc1", std::make_shared<nn::Linear>(c.hidden_size, c.ffn_dim, c.enable_bias));
  fc1_->set_activation(act_);
  fc2_ = register_module("fc2", std::make_shared<nn::Linear>(c.ffn_dim, c.hidden_size, c.enable_bias));
  final_layer_norm_ = register_module("final_layer_norm", norm(c));
}

at::Tensor OptLayer::forward(const at::Tensor& x, const at::Tensor& bias, nn::KvCache* cache, size_t layer) const {
  // Pre-LN (every OPT but 350m) or post-LN.
  at::Tensor h = x + self_attn_->forward(pre_norm_ ? self_attn_layer_norm_->forward(x) : x, bias, cache, layer);
  if (!pre_norm_) h = self_attn_layer_norm_->forward(h);
  at::Tensor out = h + nn::feed_forward(pre_norm_ ? final_layer_norm_->forward(h) : h, *fc1_, act_, *fc2_);
  return pre_norm_ ? out : final_layer_norm_->forward(out);
}

OptModel::OptModel(const OptConfig& c, const Checkpoint& checkpoint, const std::string& prefix,
                   const std::string& lm_head_name, const nn::Placement& place)
    : config_(c), place_(place) {
  auto decoder = nn::level(*this, "decoder");
  embed_tokens_ = decoder->register_module("embed_tokens", std::make_shared<nn::Embedding>(c.vocab_size, c.word_embed_proj_dim));
  embed_positions_ = decoder->register_module(
      "embed_positions", std::make_shared<nn::Embedding>(c.max_position_embeddings + kPositionOffset, c.hidden_size));
  if (c.has_projections()) {
    project_out_ = decoder->register_module("project_out", std::make_shared<nn::Linear>(c.hidden_size, c.word_embed_proj_dim, false));
    project_in_ = decoder->register_module("project_in", std::make_shared<nn::Linear>(c.word_embed_proj_dim, c.hidden_size, false));
  }
  layers_ = nn::layer_list<OptLayer>(*decoder, "layers", c.num_hidden_layers,
                                     [&](int64_t) { return std::make_shared<OptLayer>(c); });
  if (c.has_final_layer_norm()) final_layer_norm_ = decoder->register_module("final_layer_norm", norm(c));
  load_module(*this, checkpoint, prefix, nn::load_options(place, *this));

  // The lm_head is the token embeddings (tied), or its own tensor outside the
  // prefix (in the file's dtype when it is packed, as the other layers).
  at::Tensor lm_head = embed_tokens_->weight();
  if (!c.tie_word_embeddings && checkpoint.contains(lm_head_name)) {
    const at::ScalarType dtype = nn::packed_compute_for(place) ? checkpoint.info(lm_head_name).dtype : place.dtype;
    lm_head = checkpoint.load(lm_head_name, dtype, place.device);
    if (!lm_head.sizes().equals(embed_tokens_->weight().sizes()))
      throw Error(checkpoint.folder().string() + ": " + lm_head_name + " has shape " + c10::str(lm_head.sizes()) +
                  ", expected " + c10::str(embed_tokens_->weight().sizes()));
  }
  lm_head_ = register_module("lm_head", std::make_shared<nn::Linear>(lm_head));
  nn::prepare(*this, place);
}

at::Tensor OptModel::embed_tokens(const at::Tensor& ids) const { return embed_tokens_->forward(ids.to(place_.device)); }

at::Tensor OptModel::logits(const at::Tensor& hidden) const { return lm_head_->forward(hidden).to(at::kFloat); }

at::Tensor OptModel::run_layers(at::Tensor x, const at::Tensor& bias, nn::KvCache* cache,
                                std::vector<at::Tensor>* hidden_states) const {
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (hidden_states) hidden_states->push_back(x);
    x = layers_[i]->forward(x, bias, cache, i);
  }
  if (final_layer_norm_) x = final_layer_norm_->forward(x);
  if (project_out_) x = project_out_->forward(x);
  if (hidden_states) hidden_states->push_back(x);
  return x;
}

at::Tensor OptModel::forward(const at::Tensor& inputs_embeds, const at::Tensor& attention_mask, OptState* state,
                             std::vector<at::Tensor>* hidden_states) const {
  const int64_t rows = inputs_embeds.size(0), length = inputs_embeds.size(1);
  if (inputs_embeds.size(2) != config_.word_embed_proj_dim)
    throw Error("OPT input embeddings have width " + std::to_string(inputs_embeds.size(2)) + ", the model expects " +
                std::to_string(config_.word_embed_proj_dim));
  const at::Tensor mask = attention_mask.to(place_.device, at::kLong);
  // Learned positions: cumsum(mask) * mask - 1, offset by 2 (pads use row 1).
  const at::Tensor positions = mask.cumsum(1) * mask - 1 + kPositionOffset;
  if (positions.max().item<int64_t>() >= embed_positions_->size())
    throw Error("the prompt is longer than OPT's max_position_embeddings (" +
                std::to_string(config_.max_position_embeddings) + ")");
  at::Tensor x = inputs_embeds.to(place_.device, place_.dtype);
  if (project_in_) x = project_in_->forward(x);
  x = x + embed_positions_->forward(positions);

  // Causal and padding: a query sees the real keys up to itself. [B,1,T,T]
  const at::Tensor keep = mask.unsqueeze(1).unsqueeze(1).to(at::kBool).logical_and(nn::causal_keep(length, place_.device));
  const at::Tensor bias = nn::additive_mask(keep, place_.dtype);
  if (!state) return run_layers(x, bias, nullptr, hidden_states);

  nn::KvCache& cache = state->cache;
  cache.allocate(config_.num_hidden_layers, rows, config_.num_attention_heads, config_.head_dim(),
                 nn::KvCache::capacity_for(length, state->steps), place_.options(), /*key_bias=*/true);
  cache.write_key_bias(nn::additive_mask(mask, place_.dtype));
  at::Tensor out = run_layers(x, bias, &cache, hidden_states);
  cache.advance(length);
  state->next_position = mask.sum(1) + kPositionOffset;
  state->max_next_position = state->next_position.max().item<int64_t>();
  return out;
}

at::Tensor OptModel::step(const at::Tensor& tokens, OptState& state) const {
  const int64_t rows = tokens.size(0);
  if (state.max_next_position >= embed_positions_->size())
    throw Error("generation ran past OPT's max_position_embeddings (" + std::to_string(config_.max_position_embeddings) + ")");
  nn::KvCache& cache = state.cache;
  cache.reserve_more(1);
  at::Tensor x = embed_tokens(tokens.view({rows, 1}));
  if (project_in_) x = project_in_->forward(x);
  x = x + embed_positions_->forward(state.next_position.view({rows, 1}));
  at::Tensor out = run_layers(x, cache.key_bias(1), &cache, nullptr);
  cache.advance(1);
  state.next_position.add_(1);
  ++state.max_next_position;
  return out.select(1, 0);
}

}  // namespace capbench::opt
