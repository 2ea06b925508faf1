#include "plugins/t5/t5_model.h"

#include <ATen/ATen.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/nn/layers.h"

namespace capbench::t5 {

namespace {

// torch.finfo(dtype).min: what transformers multiplies masked positions by.
double lowest(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return std::numeric_limits<float>::lowest();
    case at::kBFloat16: return static_cast<float>(std::numeric_limits<c10::BFloat16>::lowest());
    case at::kHalf: return static_cast<float>(std::numeric_limits<c10::Half>::lowest());
    case at::kDouble: return std::numeric_limits<double>::lowest();
    default: throw Error("t5: unsupported dtype " + std::string(c10::toString(dtype)));
  }
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

T5Model::T5Model(T5Config config, T5Weights weights) : config_(std::move(config)), weights_(std::move(weights)) {}

at::Tensor T5Model::embed(const at::Tensor& ids) const { return at::embedding(weights_.shared, ids); }

at::Tensor T5Model::padding_bias(const at::Tensor& mask) const {
  at::Tensor m = mask.to(device()).to(dtype()).unsqueeze(1).unsqueeze(1);
  return (1.0 - m) * lowest(dtype());
}

at::Tensor T5Model::norm(const at::Tensor& x, const at::Tensor& weight) const {
  // The mean square is taken in float32 even for bf16 activations.
  at::Tensor xf = x.to(at::kFloat);
  at::Tensor variance = xf.pow(2).mean(-1, /*keepdim=*/true);
  at::Tensor h = xf * at::rsqrt(variance + config_.layer_norm_epsilon);
  if (weight.scalar_type() == at::kHalf || weight.scalar_type() == at::kBFloat16) h = h.to(weight.scalar_type());
  return weight * h;
}

at::Tensor T5Model::feed_forward(const at::Tensor& x, const FeedForwardWeights& w) const {
  at::Tensor normed = norm(x, w.norm);
  at::Tensor inner = nn::activation(config_.dense_act_fn, nn::linear(normed, w.wi_0));
  if (config_.is_gated_act) inner = inner * nn::linear(normed, w.wi_1);
  if (inner.scalar_type() != w.wo.scalar_type()) inner = inner.to(w.wo.scalar_type());
  return nn::linear(inner, w.wo);
}

at::Tensor T5Model::split_heads(const at::Tensor& x) const {
  return x.view({x.size(0), x.size(1), config_.num_heads, config_.d_kv}).transpose(1, 2);
}

at::Tensor T5Model::attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias,
                           const at::Tensor& o) const {
  at::Tensor scores = at::matmul(q, k.transpose(-1, -2));  // no 1/sqrt(d_kv): T5 folds it into the weights
  scores.add_(bias);
  at::Tensor weights = scores.scalar_type() == at::kFloat ? at::softmax(scores, -1)
                                                          : at::softmax(scores, -1, at::kFloat).to(scores.scalar_type());
  at::Tensor out = at::matmul(weights, v).transpose(1, 2);
  return nn::linear(out.reshape({out.size(0), out.size(1), config_.inner_dim()}), o);
}

at::Tensor T5Model::position_bias(const at::Tensor& relative_position, bool bidirectional,
                                  const at::Tensor& table) const {
  at::Tensor buckets = relative_position_bucket(relative_position, bidirectional, config_.relative_attention_num_buckets,
                                                config_.relative_attention_max_distance);
  return at::embedding(table, buckets).permute({2, 0, 1}).unsqueeze(0);
}

at::Tensor T5Model::encode(const at::Tensor& inputs_embeds, const at::Tensor& padding_bias,
                           std::vector<at::Tensor>* hidden_states) const {
  const int64_t length = inputs_embeds.size(1);
  at::Tensor positions = at::arange(length, at::TensorOptions().dtype(at::kLong).device(device()));
  at::Tensor relative = positions.unsqueeze(0) - positions.unsqueeze(1);  // key - query
  at::Tensor bias = position_bias(relative, /*bidirectional=*/true, weights_.encoder_relative_bias) + padding_bias;
  at::Tensor h = inputs_embeds;
  for (const auto& block : weights_.encoder) {
    if (hidden_states) hidden_states->push_back(h);
    const auto& a = block.self_attention;
    at::Tensor x = norm(h, a.norm);
    h = h + attend(split_heads(nn::linear(x, a.q)), split_heads(nn::linear(x, a.k)), split_heads(nn::linear(x, a.v)),
                   bias, a.o);
    h = h + feed_forward(h, block.feed_forward);
  }
  at::Tensor out = norm(h, weights_.encoder_final_norm);
  if (hidden_states) hidden_states->push_back(out);
  return out;
}

CrossAttentionCache T5Model::cross_attention_cache(const at::Tensor& encoder_output) const {
  CrossAttentionCache cache;
  for (const auto& block : weights_.decoder) {
    cache.keys.push_back(split_heads(nn::linear(encoder_output, block.cross_attention.k)).contiguous());
    cache.values.push_back(split_heads(nn::linear(encoder_output, block.cross_attention.v)).contiguous());
  }
  return cache;
}

at::Tensor T5Model::decode(const at::Tensor& decoder_ids, const CrossAttentionCache& cross,
                           const at::Tensor& padding_bias, std::vector<at::Tensor>* hidden_states) const {
  const int64_t length = decoder_ids.size(1);
  at::Tensor positions = at::arange(length, at::TensorOptions().dtype(at::kLong).device(device()));
  at::Tensor relative = positions.unsqueeze(0) - positions.unsqueeze(1);  // key - query
  at::Tensor causal_mask = (1.0 - relative.le(0).to(dtype())) * lowest(dtype());
  at::Tensor self_bias = position_bias(relative, /*bidirectional=*/false, weights_.decoder_relative_bias) + causal_mask;
  at::Tensor h = embed(decoder_ids);
  for (size_t i = 0; i < weights_.decoder.size(); ++i) {
    if (hidden_states) hidden_states->push_back(h);
    const auto& block = weights_.decoder[i];
    const auto& a = block.self_attention;
    at::Tensor x = norm(h, a.norm);
    h = h + attend(split_heads(nn::linear(x, a.q)), split_heads(nn::linear(x, a.k)), split_heads(nn::linear(x, a.v)),
                   self_bias, a.o);
    const auto& c = block.cross_attention;
    h = h + attend(split_heads(nn::linear(norm(h, c.norm), c.q)), cross.keys[i], cross.values[i], padding_bias, c.o);
    h = h + feed_forward(h, block.feed_forward);
  }
  at::Tensor out = norm(h, weights_.decoder_final_norm);
  if (hidden_states) hidden_states->push_back(out);
  return out;
}

SelfAttentionCache T5Model::empty_self_attention_cache(int64_t rows) const {
  SelfAttentionCache cache;
  cache.keys.resize(weights_.decoder.size());
  cache.values.resize(weights_.decoder.size());
  for (auto& t : cache.keys) t = at::empty({rows, config_.num_heads, 0, config_.d_kv}, weights_.shared.options());
  for (auto& t : cache.values) t = at::empty({rows, config_.num_heads, 0, config_.d_kv}, weights_.shared.options());
  return cache;
}

void T5Model::grow(SelfAttentionCache& cache, int64_t capacity) const {
  for (auto* buffers : {&cache.keys, &cache.values}) {
    for (auto& buffer : *buffers) {
      at::Tensor bigger = at::empty({buffer.size(0), buffer.size(1), capacity, buffer.size(3)}, buffer.options());
      bigger.narrow(2, 0, cache.length).copy_(buffer.narrow(2, 0, cache.length));
      buffer = bigger;
    }
  }
  // Query position capacity-1 against every key: distances capacity-1 ... 0.
  at::Tensor keys = at::arange(capacity, at::TensorOptions().dtype(at::kLong).device(device()));
  at::Tensor relative = (keys - (capacity - 1)).unsqueeze(0);
  cache.bias_by_reversed_distance = position_bias(relative, /*bidirectional=*/false, weights_.decoder_relative_bias);
  cache.capacity = capacity;
}

at::Tensor T5Model::decode_step(const at::Tensor& tokens, SelfAttentionCache& cache, const CrossAttentionCache& cross,
                                const at::Tensor& padding_bias) const {
  const int64_t p = cache.length;
  if (p == cache.capacity) grow(cache, std::max<int64_t>(16, 2 * cache.capacity));
  at::Tensor self_bias = cache.bias_by_reversed_distance.narrow(3, cache.capacity - 1 - p, p + 1);
  at::Tensor h = embed(tokens.reshape({-1, 1}));
  for (size_t i = 0; i < weights_.decoder.size(); ++i) {
    const auto& block = weights_.decoder[i];
    const auto& a = block.self_attention;
    at::Tensor x = norm(h, a.norm);
    at::Tensor keys = cache.keys[i].narrow(2, 0, p + 1);
    at::Tensor values = cache.values[i].narrow(2, 0, p + 1);
    keys.narrow(2, p, 1).copy_(split_heads(nn::linear(x, a.k)));
    values.narrow(2, p, 1).copy_(split_heads(nn::linear(x, a.v)));
    h = h + attend(split_heads(nn::linear(x, a.q)), keys, values, self_bias, a.o);
    const auto& c = block.cross_attention;
    h = h + attend(split_heads(nn::linear(norm(h, c.norm), c.q)), cross.keys[i], cross.values[i], padding_bias, c.o);
    h = h + feed_forward(h, block.feed_forward);
  }
  cache.length = p + 1;
  return norm(h, weights_.decoder_final_norm).squeeze(1);
}

at::Tensor T5Model::logits(const at::Tensor& decoder_output) const {
  // Tied embeddings: transformers rescales the decoder output before the shared matrix.
  at::Tensor x = config_.tie_word_embeddings ? decoder_output * std::pow(static_cast<double>(config_.d_model), -0.5)
                                             : decoder_output;
  return nn::linear(x, weights_.lm_head).to(at::kFloat);
}

}  // namespace capbench::t5
