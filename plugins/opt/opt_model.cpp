#include "plugins/opt/opt_model.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/module_loading.h"
#include "core/nn/layers.h"

namespace capbench::opt {

namespace {

// Modules named as transformers names them, with uninitialised parameters the
// checkpoint fills (core/module_loading.h).
using capbench::nn::LayerNorm;
using capbench::nn::Linear;

constexpr double kLayerNormEps = 1e-5;  // torch.nn.LayerNorm's default, which OPT uses

std::shared_ptr<LayerNorm> norm(const OptConfig& c) {
  return std::make_shared<LayerNorm>(c.hidden_size, kLayerNormEps, c.layer_norm_elementwise_affine);
}

struct Embedding : torch::nn::Module {
  at::Tensor weight;
  Embedding(int64_t rows, int64_t dim) { weight = register_parameter("weight", at::empty({rows, dim}), false); }
};

struct Attention : torch::nn::Module {
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, out_proj;
  explicit Attention(const OptConfig& c) {
    const int64_t d = c.hidden_size;
    k_proj = register_module("k_proj", std::make_shared<Linear>(d, d, c.enable_bias));
    v_proj = register_module("v_proj", std::make_shared<Linear>(d, d, c.enable_bias));
    q_proj = register_module("q_proj", std::make_shared<Linear>(d, d, c.enable_bias));
    out_proj = register_module("out_proj", std::make_shared<Linear>(d, d, c.enable_bias));
  }
};

struct Layer : torch::nn::Module {
  std::shared_ptr<Attention> self_attn;
  std::shared_ptr<LayerNorm> self_attn_layer_norm, final_layer_norm;
  std::shared_ptr<Linear> fc1, fc2;
  explicit Layer(const OptConfig& c) {
    self_attn = register_module("self_attn", std::make_shared<Attention>(c));
    self_attn_layer_norm = register_module("self_attn_layer_norm", norm(c));
    fc1 = register_module("fc1", std::make_shared<Linear>(c.hidden_size, c.ffn_dim, c.enable_bias));
    fc2 = register_module("fc2", std::make_shared<Linear>(c.ffn_dim, c.hidden_size, c.enable_bias));
    final_layer_norm = register_module("final_layer_norm", norm(c));
  }
};

struct Decoder : torch::nn::Module {
  std::shared_ptr<Embedding> embed_tokens, embed_positions;
  std::shared_ptr<Linear> project_in, project_out;
  std::vector<std::shared_ptr<Layer>> layers;
  std::shared_ptr<LayerNorm> final_layer_norm;
  explicit Decoder(const OptConfig& c) {
    embed_tokens = register_module("embed_tokens", std::make_shared<Embedding>(c.vocab_size, c.word_embed_proj_dim));
    // transformers' OPTLearnedPositionalEmbedding keeps 2 extra rows (the offset).
    embed_positions = register_module("embed_positions", std::make_shared<Embedding>(c.max_position_embeddings + 2, c.hidden_size));
    if (c.has_projections()) {
      project_out = register_module("project_out", std::make_shared<Linear>(c.hidden_size, c.word_embed_proj_dim, false));
      project_in = register_module("project_in", std::make_shared<Linear>(c.word_embed_proj_dim, c.hidden_size, false));
    }
    auto list = register_module("layers", std::make_shared<torch::nn::Module>());
    for (int64_t i = 0; i < c.num_hidden_layers; ++i)
      layers.push_back(list->register_module(std::to_string(i), std::make_shared<Layer>(c)));
    if (c.has_final_layer_norm())
      final_layer_norm = register_module("final_layer_norm", norm(c));
  }
};

struct Root : torch::nn::Module {
  std::shared_ptr<Decoder> decoder;
  explicit Root(const OptConfig& c) { decoder = register_module("decoder", std::make_shared<Decoder>(c)); }
};

double lowest(at::ScalarType dtype) {
  switch (dtype) {
    case at::kHalf: return -65504.0;
    case at::kBFloat16: return -3.3895313892515355e38;
    default: return static_cast<double>(std::numeric_limits<float>::lowest());
  }
}

// (1 - mask) * lowest: the additive key bias of padding.
at::Tensor key_bias_of(const at::Tensor& mask, at::ScalarType dtype) {
  return (1 - mask.to(dtype)) * lowest(dtype);
}

int64_t grown_capacity(int64_t needed) { return needed + std::max<int64_t>(32, needed / 2); }

}  // namespace

struct OptModel::Weights {
  std::shared_ptr<Root> root;
  at::Tensor lm_head;  // [V, word_embed_proj_dim]; the embeddings when tied
};

void KvCache::keep_rows(const at::Tensor& rows) {
  for (auto& k : keys) k = k.index_select(0, rows);
  for (auto& v : values) v = v.index_select(0, rows);
  key_bias = key_bias.index_select(0, rows);
  next_position = next_position.index_select(0, rows);
}

OptModel::OptModel(const OptConfig& config, const Checkpoint& checkpoint, const std::string& prefix,
                   const std::string& lm_head_name, at::ScalarType dtype, c10::Device device)
    : config_(config), dtype_(dtype), device_(device), weights_(std::make_shared<Weights>()) {
  weights_->root = std::make_shared<Root>(config);
  LoadOptions load;
  load.dtype = dtype;
  load.device = device;
  load_module(*weights_->root, checkpoint, prefix, load);
  const at::Tensor& embeddings = weights_->root->decoder->embed_tokens->weight;
  if (config.tie_word_embeddings || !checkpoint.contains(lm_head_name)) {
    weights_->lm_head = embeddings;
  } else {
    weights_->lm_head = checkpoint.load(lm_head_name, dtype, device);
    if (!weights_->lm_head.sizes().equals(embeddings.sizes()))
      throw Error(checkpoint.folder().string() + ": " + lm_head_name + " has shape " +
                  c10::str(weights_->lm_head.sizes()) + ", expected " + c10::str(embeddings.sizes()));
  }
}

OptModel::~OptModel() = default;

at::Tensor OptModel::embed_tokens(const at::Tensor& ids) const {
  return at::embedding(weights_->root->decoder->embed_tokens->weight, ids.to(device_));
}

at::Tensor OptModel::logits(const at::Tensor& hidden) const {
  return nn::linear(hidden, weights_->lm_head).to(at::kFloat);
}

at::Tensor OptModel::run_layers(at::Tensor x, const at::Tensor& bias, KvCache* cache, int64_t start,
                                std::vector<at::Tensor>* hidden_states) const {
  const Decoder& d = *weights_->root->decoder;
  const int64_t rows = x.size(0), length = x.size(1);
  const int64_t heads = config_.num_attention_heads, head_dim = config_.head_dim();
  const double scaling = 1.0 / std::sqrt(static_cast<double>(head_dim));
  const bool pre = config_.do_layer_norm_before;
  for (size_t i = 0; i < d.layers.size(); ++i) {
    const Layer& layer = *d.layers[i];
    if (hidden_states) hidden_states->push_back(x);
    at::Tensor residual = x;
    at::Tensor h = pre ? layer.self_attn_layer_norm->forward(x) : x;
    auto split = [&](const at::Tensor& t) { return nn::split_heads(t, heads); };
    at::Tensor q = split(layer.self_attn->q_proj->forward(h) * scaling);
    at::Tensor k = split(layer.self_attn->k_proj->forward(h));
    at::Tensor v = split(layer.self_attn->v_proj->forward(h));
    if (cache) {
      cache->keys[i].narrow(2, start, length).copy_(k);
      cache->values[i].narrow(2, start, length).copy_(v);
      k = cache->keys[i].narrow(2, 0, start + length);
      v = cache->values[i].narrow(2, 0, start + length);
    }
    at::Tensor scores = at::matmul(q, k.transpose(-1, -2)).add_(bias);
    at::Tensor probs = scores.scalar_type() == at::kHalf ? at::softmax(scores, -1, at::kFloat).to(at::kHalf)
                                                         : at::softmax(scores, -1);
    at::Tensor attended = at::matmul(probs, v).transpose(1, 2).reshape({rows, length, heads * head_dim});
    x = residual + layer.self_attn->out_proj->forward(attended);
    if (!pre) x = layer.self_attn_layer_norm->forward(x);

    residual = x;
    h = pre ? layer.final_layer_norm->forward(x) : x;
    h = layer.fc2->forward(nn::activation(config_.activation_function, layer.fc1->forward(h)));
    x = residual + h;
    if (!pre) x = layer.final_layer_norm->forward(x);
  }
  if (d.final_layer_norm) x = d.final_layer_norm->forward(x);
  if (d.project_out) x = d.project_out->forward(x);
  if (hidden_states) hidden_states->push_back(x);
  return x;
}

at::Tensor OptModel::forward(const at::Tensor& inputs_embeds, const at::Tensor& attention_mask, KvCache* cache,
                             std::vector<at::Tensor>* hidden_states) const {
  const Decoder& d = *weights_->root->decoder;
  const int64_t rows = inputs_embeds.size(0), length = inputs_embeds.size(1);
  if (inputs_embeds.size(2) != config_.word_embed_proj_dim)
    throw Error("OPT input embeddings have width " + std::to_string(inputs_embeds.size(2)) + ", the model expects " +
                std::to_string(config_.word_embed_proj_dim));
  at::Tensor mask = attention_mask.to(device_, at::kLong);
  // Learned positions: cumsum(mask) * mask - 1, offset by 2 (pads use row 1).
  at::Tensor positions = mask.cumsum(1) * mask - 1 + 2;
  if (positions.max().item<int64_t>() >= d.embed_positions->weight.size(0))
    throw Error("the prompt is longer than OPT's max_position_embeddings (" +
                std::to_string(config_.max_position_embeddings) + ")");
  at::Tensor x = inputs_embeds.to(device_, dtype_);
  if (d.project_in) x = d.project_in->forward(x);
  x = x + at::embedding(d.embed_positions->weight, positions);

  at::Tensor key_bias = key_bias_of(mask, dtype_);  // [B,T]
  at::Tensor causal = at::ones({length, length}, at::TensorOptions().dtype(at::kBool).device(device_)).triu(1);
  at::Tensor bias = key_bias.view({rows, 1, 1, length}).masked_fill(causal, lowest(dtype_));  // [B,1,T,T]

  if (cache) {
    const int64_t capacity = grown_capacity(length);
    const auto options = at::TensorOptions().dtype(dtype_).device(device_);
    const int64_t heads = config_.num_attention_heads, head_dim = config_.head_dim();
    cache->keys.clear();
    cache->values.clear();
    for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
      cache->keys.push_back(at::empty({rows, heads, capacity, head_dim}, options));
      cache->values.push_back(at::empty({rows, heads, capacity, head_dim}, options));
    }
    cache->key_bias = at::zeros({rows, capacity}, options);
    cache->key_bias.narrow(1, 0, length).copy_(key_bias);
    cache->next_position = mask.sum(1);
    cache->max_next_position = cache->next_position.max().item<int64_t>();
    cache->length = length;
    cache->capacity = capacity;
  }
  return run_layers(x, bias, cache, 0, hidden_states);
}

at::Tensor OptModel::step(const at::Tensor& tokens, KvCache& cache) const {
  const Decoder& d = *weights_->root->decoder;
  const int64_t rows = tokens.size(0);
  if (cache.length == cache.capacity) {
    const int64_t capacity = grown_capacity(cache.length + 1);
    auto grow = [&](at::Tensor& t, int64_t dim) {
      auto sizes = t.sizes().vec();
      sizes[dim] = capacity;
      at::Tensor bigger = at::zeros(sizes, t.options());
      bigger.narrow(dim, 0, cache.length).copy_(t.narrow(dim, 0, cache.length));
      t = bigger;
    };
    for (auto& k : cache.keys) grow(k, 2);
    for (auto& v : cache.values) grow(v, 2);
    grow(cache.key_bias, 1);
    cache.capacity = capacity;
  }
  if (cache.max_next_position + 2 >= d.embed_positions->weight.size(0))
    throw Error("generation ran past OPT's max_position_embeddings (" + std::to_string(config_.max_position_embeddings) + ")");
  at::Tensor x = embed_tokens(tokens.view({rows, 1}));
  if (d.project_in) x = d.project_in->forward(x);
  x = x + at::embedding(d.embed_positions->weight, (cache.next_position + 2).view({rows, 1}));
  const int64_t start = cache.length;
  at::Tensor bias = cache.key_bias.narrow(1, 0, start + 1).view({rows, 1, 1, start + 1});
  at::Tensor out = run_layers(x, bias, &cache, start, nullptr);
  cache.length = start + 1;
  cache.next_position = cache.next_position + 1;
  ++cache.max_next_position;
  return out.select(1, 0);
}

}  // namespace capbench::opt
