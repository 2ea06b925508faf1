// The minilm plugin: sentence-transformers BERT models (all-MiniLM-L6-v2 and
// kin) as a SentenceEmbedder.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <utf8proc.h>

#include <algorithm>
#include <numeric>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/module_loading.h"
#include "core/nn/linear.h"
#include "core/nn/placement.h"
#include "core/tokenizer.h"
#include "plugins/minilm/bert_model.h"
#include "plugins/minilm/minilm_forward.h"
#include "plugins/minilm/sentence_config.h"

namespace capbench::minilm {

namespace {

// Python's str.lower() (per code point) for sentence_bert_config's do_lower_case.
std::string lower(const std::string& text) {
  std::string out;
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t used = utf8proc_iterate(bytes, left, &cp);
    if (used <= 0 || cp < 0) {  // not UTF-8: keep the byte
      out += static_cast<char>(*bytes++);
      --left;
      continue;
    }
    utf8proc_uint8_t encoded[4];
    out.append(reinterpret_cast<const char*>(encoded), static_cast<size_t>(utf8proc_encode_char(utf8proc_tolower(cp), encoded)));
    bytes += used;
    left -= used;
  }
  return out;
}

class MiniLMEmbedder : public SentenceEmbedder {
 public:
  explicit MiniLMEmbedder(ComponentContext& ctx)
      : config_(read_sentence_config(ctx.checkpoint)),
        place_(nn::place(ctx, "minilm")),
        batch_size_(ctx.settings.get_int("batch_size", 32)) {
    if (batch_size_ < 1) throw Error(ctx.settings.where() + ": batch_size must be at least 1");
    const fs_path config_file = config_.transformer_dir / "config.json";
    model_ = std::make_shared<BertModel>(BertConfig::from_json(JsonObject(read_json_file(config_file), config_file)));
    const BertConfig& bert = model_->config();
    if (config_.pooling_dimension != 0 && config_.pooling_dimension != bert.hidden_size)
      throw Error(ctx.checkpoint.string() + ": the pooling's word_embedding_dimension " +
                  std::to_string(config_.pooling_dimension) + " differs from hidden_size " +
                  std::to_string(bert.hidden_size));
    max_length_ = config_.max_seq_length > 0 ? std::min(config_.max_seq_length, bert.max_position_embeddings)
                                             : bert.max_position_embeddings;

    const Checkpoint checkpoint = Checkpoint::open(config_.transformer_dir);
    // BertModel checkpoints name tensors "embeddings..."; BertFor* ones "bert.embeddings...".
    const std::string prefix = checkpoint.contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
    LoadOptions options = nn::load_options(place_, *model_);
    for (const std::string& name : checkpoint.names(prefix)) {
      const std::string local = name.substr(prefix.size());
      // sentence-transformers never runs the pooler; old exports also store position_ids.
      if (local.rfind("pooler.", 0) == 0 || local == "embeddings.position_ids") options.ignore.insert(local);
    }
    load_module(*model_, checkpoint, prefix, options);
    model_->loaded(place_);

    tokenizer_ = load_tokenizer(config_.transformer_dir);
    pad_id_ = tokenizer_->special_tokens().pad >= 0 ? tokenizer_->special_tokens().pad : bert.pad_token_id;
  }

  int64_t dimension() const override {
    return model_->config().hidden_size * static_cast<int64_t>(config_.pooling.size());
  }

  at::Tensor embed(const std::vector<std::string>& texts) override {
    c10::InferenceMode guard;
    const std::vector<std::vector<int64_t>> ids = tokenize(texts);
    // Longest first, so that each batch holds texts of similar length and little padding.
    std::vector<size_t> order(texts.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a].size() > ids[b].size(); });
    at::Tensor result = at::empty({static_cast<int64_t>(texts.size()), dimension()}, at::kFloat);
    for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(batch_size_)) {
      const size_t end = std::min(order.size(), begin + static_cast<size_t>(batch_size_));
      std::vector<std::vector<int64_t>> batch;
      for (size_t i = begin; i < end; ++i) batch.push_back(ids[order[i]]);
      const MiniLMForward forward = run(batch);
      const at::Tensor rows = at::tensor(std::vector<int64_t>(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                                              order.begin() + static_cast<std::ptrdiff_t>(end)));
      result.index_copy_(0, rows, forward.embeddings.to(at::kCPU, at::kFloat));
    }
    return result;
  }

  MiniLMForward forward(const std::vector<std::string>& texts) {
    c10::InferenceMode guard;
    return run(tokenize(texts));
  }

 private:
  using fs_path = std::filesystem::path;

  std::vector<std::vector<int64_t>> tokenize(const std::vector<std::string>& texts) const {
    std::vector<std::vector<int64_t>> ids;
    ids.reserve(texts.size());
    for (const std::string& text : texts)
      ids.push_back(tokenizer_->encode(config_.do_lower_case ? lower(text) : text, true, max_length_));
    return ids;
  }

  MiniLMForward run(const std::vector<std::vector<int64_t>>& batch) const {
    MiniLMForward out;
    size_t longest = 1;
    for (const auto& ids : batch) longest = std::max(longest, ids.size());
    const auto rows = static_cast<int64_t>(batch.size()), length = static_cast<int64_t>(longest);
    out.input_ids = at::full({rows, length}, pad_id_, at::kLong);
    out.attention_mask = at::zeros({rows, length}, at::kLong);
    for (int64_t r = 0; r < rows; ++r) {
      const auto& ids = batch[static_cast<size_t>(r)];
      const auto n = static_cast<int64_t>(ids.size());
      if (n == 0) continue;
      out.input_ids[r].slice(0, 0, n).copy_(at::tensor(ids, at::kLong));
      out.attention_mask[r].slice(0, 0, n).fill_(1);
    }
    const at::Tensor ids = out.input_ids.to(place_.device), mask = out.attention_mask.to(place_.device);
    BertModel::Output bert = model_->forward(ids, mask);
    out.embedding_output = bert.embedding_output;
    out.last_hidden_state = bert.last_hidden_state;
    out.pooled = pool(bert.last_hidden_state.to(at::kFloat), mask);
    out.embeddings = config_.normalize ? out.pooled / out.pooled.norm(2, {1}, true).clamp_min(1e-12) : out.pooled;
    return out;
  }

  // sentence-transformers' Pooling module, in float32.
  at::Tensor pool(const at::Tensor& hidden, const at::Tensor& mask) const {
    const at::Tensor expanded = mask.unsqueeze(-1).to(at::kFloat).expand_as(hidden);
    std::vector<at::Tensor> parts;
    for (Pooling mode : config_.pooling) {
      switch (mode) {
        case Pooling::cls: parts.push_back(hidden.select(1, 0)); break;
        case Pooling::max: parts.push_back(std::get<0>(hidden.masked_fill(expanded == 0, -1e9).max(1))); break;
        case Pooling::mean:
        case Pooling::mean_sqrt_len: {
          const at::Tensor sum = (hidden * expanded).sum(1);
          const at::Tensor count = expanded.sum(1).clamp_min(1e-9);
          parts.push_back(mode == Pooling::mean ? sum / count : sum / count.sqrt());
          break;
        }
      }
    }
    return parts.size() == 1 ? parts[0] : at::cat(parts, 1);
  }

  SentenceConfig config_;
  nn::Placement place_;
  int64_t batch_size_;
  int64_t max_length_ = 0;
  int64_t pad_id_ = 0;
  std::shared_ptr<BertModel> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
};

std::shared_ptr<SentenceEmbedder> make_minilm(ComponentContext& ctx) { return std::make_shared<MiniLMEmbedder>(ctx); }

}  // namespace

// For the alias below: `embedder` must come from this plugin's factory.
MiniLMForward forward_for_tests(SentenceEmbedder& embedder, const std::vector<std::string>& texts) {
  return static_cast<MiniLMEmbedder&>(embedder).forward(texts);
}

}  // namespace capbench::minilm

CAPBENCH_PLUGIN("minilm", SentenceEmbedder,
                "sentence-transformers BERT embedder (all-MiniLM-L6-v2): mean/CLS/max pooling, normalisation",
                capbench::minilm::make_minilm)
BOOST_DLL_ALIAS(capbench::minilm::forward_for_tests, capbench_minilm_forward)
