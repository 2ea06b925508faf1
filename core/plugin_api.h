#pragma once
// The plugin ABI: what a capbench plugin exports and the four component
// interfaces it may implement. Host and plugins link the same shared libtorch,
// so tensors cross the boundary as at::Tensor; errors cross as capbench::Error.
//
// A plugin is a shared library exporting two Boost.DLL aliases:
//   capbench_plugin_info    const PluginInfo* ()        -- always safe to call
//   capbench_plugin_create  std::shared_ptr<void> (ComponentContext&)
// CAPBENCH_PLUGIN(...) below defines both. The host reads the info first and
// refuses a plugin whose abi_version differs from kPluginAbiVersion before it
// touches anything else.
#include <ATen/core/Tensor.h>
#include <boost/dll/alias.hpp>
#include <torch/version.h>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/settings.h"

namespace capbench {

// Bump whenever a type below (or Settings, Error, a tokenizer or checkpoint class
// a plugin uses) changes layout or meaning.
inline constexpr int kPluginAbiVersion = 2;  // 2: ComponentContext::weights, Checkpoint::open(folder, weights), TextDecoder::start_for_steps, dtype "int8"

// Plain C layout, so that the host can read it from a plugin of any ABI version.
struct PluginInfo {
  const char* name;           // unique plugin name, e.g. "opt"
  const char* kind;           // "encoder" | "bridge" | "decoder" | "embedder"
  int abi_version;            // kPluginAbiVersion of the plugin's build
  const char* torch_version;  // libtorch version the plugin was built with
  const char* description;    // one line for `capbench plugins`
};

// What the host hands a plugin's factory.
struct ComponentContext {
  std::filesystem::path checkpoint;  // Hugging Face snapshot folder (or file) the component reads
  std::string device;                // "cpu", "cuda", "cuda:1"
  std::string dtype;                 // "fp32", "fp16", "bf16" or "int8" (int8 linear weights, CPU: nn::place)
  Settings settings;                 // the component's remaining keys; unread keys are an error
  // A weights file read instead of the folder's weights (a LAVIS .pth, a torch.save
  // state dict, a .safetensors file); empty: the folder's. Pass both to
  // Checkpoint::open(checkpoint, weights), which renames LAVIS names to transformers'.
  std::filesystem::path weights;
};

// pixel_values [B,3,H,W] float32 -> patch features [B,N,D].
class ImageEncoder {
 public:
  struct Output {
    at::Tensor last_hidden_state;           // [B,N,D], after the post-layernorm
    at::Tensor pooler_output;               // [B,D]
    std::vector<at::Tensor> hidden_states;  // embeddings, then each layer; only when asked
  };
  virtual ~ImageEncoder() = default;
  virtual Output encode(const at::Tensor& pixel_values, bool want_hidden_states = false) = 0;
};

// patch features [B,N,Dv] -> soft prompt [B,Q,D_lm] for the language model.
class Bridge {
 public:
  struct Output {
    at::Tensor soft_prompt;                 // [B,Q,D_lm], after the projection
    at::Tensor last_hidden_state;           // [B,Q,D_bridge], before the projection
    std::vector<at::Tensor> hidden_states;  // embedding layernorm output, then each layer
  };
  virtual ~Bridge() = default;
  virtual Output bridge(const at::Tensor& image_features, bool want_hidden_states = false) = 0;
};

// Per-batch decoding state (KV caches, encoder output, masks, positions) owned by
// a TextDecoder; the search engine only moves rows of it around.
class DecoderState {
 public:
  virtual ~DecoderState() = default;
};

struct DecoderSpec {
  int64_t vocab_size = 0;
  int64_t bos_token_id = -1;            // -1 when the model has none
  int64_t eos_token_id = -1;
  int64_t pad_token_id = -1;
  int64_t decoder_start_token_id = -1;  // encoder-decoder models only
  bool encoder_decoder = false;
};

// A language model driven one token at a time by the host's search engine.
class TextDecoder {
 public:
  struct Start {
    std::unique_ptr<DecoderState> state;
    at::Tensor logits;  // [B,V] float32: next-token logits after the prefix
  };
  struct Forward {
    at::Tensor logits;                      // [B,T,V] for every position of the prefix
    std::vector<at::Tensor> hidden_states;  // as the reference model reports them
    std::vector<at::Tensor> encoder_hidden_states;  // encoder-decoder models only
  };
  virtual ~TextDecoder() = default;
  virtual const DecoderSpec& spec() const = 0;
  // Runs the prefix [soft_prompt; embed(prompt_ids)] (prompt_mask 1 = real token,
  // 0 = padding) once and returns the state for step().
  virtual Start start(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids, const at::Tensor& prompt_mask) = 0;
  // start() for a search that calls step() at most max_new_tokens times, so
  // that the decoder allocates its caches once for every position it will hold
  // (generate() calls this one). The default is start(): caches that grow.
  virtual Start start_for_steps(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids,
                                const at::Tensor& prompt_mask, int64_t max_new_tokens) {
    (void)max_new_tokens;
    return start(soft_prompt, prompt_ids, prompt_mask);
  }
  // Feeds one token per row ([R] int64) and returns the next logits [R,V] float32.
  virtual at::Tensor step(DecoderState& state, const at::Tensor& tokens) = 0;
  // Keeps rows `rows` ([R'] int64, repeats allowed) of the state, in that order:
  // expands to beams, reorders beams, and drops finished rows.
  virtual void select(DecoderState& state, const at::Tensor& rows) = 0;
  // Full forward for reference checks; decoder_ids is used by encoder-decoder models.
  virtual Forward forward(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids, const at::Tensor& prompt_mask,
                          const at::Tensor& decoder_ids) = 0;
};

// texts -> embeddings [N,D] float32 (unit length when the model normalises).
class SentenceEmbedder {
 public:
  virtual ~SentenceEmbedder() = default;
  virtual at::Tensor embed(const std::vector<std::string>& texts) = 0;
  virtual int64_t dimension() const = 0;
};

using PluginInfoFn = const PluginInfo*();
using PluginCreateFn = std::shared_ptr<void>(ComponentContext&);

template <class Interface>
constexpr const char* kind_name();
template <>
constexpr const char* kind_name<ImageEncoder>() { return "encoder"; }
template <>
constexpr const char* kind_name<Bridge>() { return "bridge"; }
template <>
constexpr const char* kind_name<TextDecoder>() { return "decoder"; }
template <>
constexpr const char* kind_name<SentenceEmbedder>() { return "embedder"; }

}  // namespace capbench

// Defines a plugin's two exports. INTERFACE is one of ImageEncoder, Bridge,
// TextDecoder, SentenceEmbedder; FACTORY is callable as FACTORY(ComponentContext&)
// and returns a std::shared_ptr to an implementation of INTERFACE.
#define CAPBENCH_PLUGIN(NAME, INTERFACE, DESCRIPTION, FACTORY)                                      \
  namespace capbench_plugin_exports {                                                              \
  const capbench::PluginInfo* info() {                                                             \
    static const capbench::PluginInfo i{NAME, capbench::kind_name<capbench::INTERFACE>(),          \
                                        capbench::kPluginAbiVersion, TORCH_VERSION, DESCRIPTION};  \
    return &i;                                                                                     \
  }                                                                                                \
  std::shared_ptr<void> create(capbench::ComponentContext& ctx) {                                  \
    std::shared_ptr<capbench::INTERFACE> made = FACTORY(ctx);                                      \
    return made;                                                                                   \
  }                                                                                                \
  }                                                                                                \
  BOOST_DLL_ALIAS(capbench_plugin_exports::info, capbench_plugin_info)                             \
  BOOST_DLL_ALIAS(capbench_plugin_exports::create, capbench_plugin_create)
