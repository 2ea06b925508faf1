#include "core/module_loading.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/safetensors.h"
#include "tests/core/checkpoint_test_support.h"

using capbench::Checkpoint;
using capbench::LoadOptions;
using namespace capbench::testing;

namespace {

// Modules as plugins build them: uninitialised tensors, filled by load_module.
struct ProjectionImpl : torch::nn::Module {
  ProjectionImpl(int64_t in, int64_t out) {
    weight = register_parameter("weight", torch::empty({out, in}));
    bias = register_parameter("bias", torch::empty({out}));
  }
  torch::Tensor weight, bias;
};
TORCH_MODULE(Projection);

// A module holding one weight, so that names read "embed.weight" as in HF checkpoints.
struct WeightOnlyImpl : torch::nn::Module {
  explicit WeightOnlyImpl(std::vector<int64_t> shape) { weight = register_parameter("weight", torch::empty(shape)); }
  torch::Tensor weight;
};
TORCH_MODULE(WeightOnly);

struct TinyModelImpl : torch::nn::Module {
  TinyModelImpl() {
    embed_module = register_module("embed", WeightOnly(std::vector<int64_t>{10, 4}));
    blocks = register_module("blocks", torch::nn::ModuleList(Projection(4, 4), Projection(4, 4)));
    head_module = register_module("head", WeightOnly(std::vector<int64_t>{10, 4}));
    steps = register_buffer("steps", torch::empty({3}, torch::kLong));
    embed = embed_module->weight;
    head = head_module->weight;
  }
  WeightOnly embed_module{nullptr}, head_module{nullptr};
  torch::Tensor embed, head, steps;
  torch::nn::ModuleList blocks;
};
TORCH_MODULE(TinyModel);

// A checkpoint for TinyModel under "model.", plus one tensor outside the prefix.
std::vector<std::pair<std::string, at::Tensor>> tiny_tensors() {
  torch::manual_seed(1);
  return {{"model.embed.weight", torch::randn({10, 4})},      {"model.blocks.0.weight", torch::randn({4, 4})},
          {"model.blocks.0.bias", torch::randn({4})},         {"model.blocks.1.weight", torch::randn({4, 4})},
          {"model.blocks.1.bias", torch::randn({4})},         {"model.steps", torch::arange(3, torch::kLong)},
          {"other.weight", torch::randn({2})}};
}

Checkpoint write(const TempDir& dir, const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  capbench::write_safetensors(dir / "model.safetensors", tensors);
  return Checkpoint::open(dir.path());
}

std::string load_error(torch::nn::Module& module, const Checkpoint& checkpoint, const std::string& prefix,
                       const LoadOptions& options = {}) {
  try {
    capbench::load_module(module, checkpoint, prefix, options);
  } catch (const capbench::Error& e) {
    return e.what();
  }
  FAIL("load_module did not fail");
  return "";
}

}  // namespace

TEST_CASE("fp32 on CPU: every parameter becomes the zero-copy view; tied weights share it") {
  TempDir dir;
  auto tensors = tiny_tensors();
  Checkpoint checkpoint = write(dir, tensors);
  TinyModel model;
  LoadOptions options;
  options.tied = {{"head.weight", "embed.weight"}};
  capbench::load_module(*model, checkpoint, "model.", options);

  for (const auto& [name, tensor] : tensors) {
    if (name.rfind("model.", 0) != 0) continue;
    CAPTURE(name);
    at::Tensor param = model->named_parameters().contains(name.substr(6)) ? model->named_parameters()[name.substr(6)]
                                                                           : model->named_buffers()[name.substr(6)];
    CHECK(torch::equal(param, tensor));
    CHECK(param.data_ptr() == checkpoint.view(name).data_ptr());  // no copy at all
  }
  CHECK(model->head.data_ptr() == model->embed.data_ptr());  // one storage for the tie
  CHECK((model->steps.scalar_type() == torch::kLong));
  CHECK(model->blocks[0]->as<Projection>()->weight.requires_grad());  // still a parameter
}

TEST_CASE("bf16 and fp16 targets convert floating tensors, keep integer buffers, and keep ties shared") {
  TempDir dir;
  auto tensors = tiny_tensors();
  Checkpoint checkpoint = write(dir, tensors);
  for (auto dtype : {torch::kBFloat16, torch::kHalf}) {
    TinyModel model;
    LoadOptions options;
    options.dtype = dtype;
    options.tied = {{"head.weight", "embed.weight"}};
    capbench::load_module(*model, checkpoint, "model.", options);
    CHECK((model->embed.scalar_type() == dtype));
    CHECK(torch::equal(model->embed, tensors[0].second.to(dtype)));
    CHECK(torch::equal(model->blocks[1]->as<Projection>()->bias, tensors[4].second.to(dtype)));
    CHECK(model->head.data_ptr() == model->embed.data_ptr());
    CHECK((model->steps.scalar_type() == torch::kLong));
    CHECK(torch::equal(model->steps, torch::arange(3, torch::kLong)));
  }
}

TEST_CASE("keep_stored names load in the file's dtype (views on the CPU) while the rest converts") {
  TempDir dir;
  auto tensors = tiny_tensors();
  tensors[3].second = tensors[3].second.to(torch::kHalf);  // model.blocks.1.weight stored in fp16
  Checkpoint checkpoint = write(dir, tensors);
  TinyModel model;
  LoadOptions options;
  options.dtype = torch::kBFloat16;
  options.tied = {{"head.weight", "embed.weight"}};
  options.keep_stored = {"blocks.1.weight", "head.weight"};
  capbench::load_module(*model, checkpoint, "model.", options);
  const at::Tensor kept = model->blocks[1]->as<Projection>()->weight;
  CHECK((kept.scalar_type() == torch::kHalf));
  CHECK(kept.data_ptr() == checkpoint.view("model.blocks.1.weight").data_ptr());
  CHECK((model->blocks[0]->as<Projection>()->weight.scalar_type() == torch::kBFloat16));
  // A tie whose two ends ask for different dtypes gets one tensor of each.
  CHECK((model->embed.scalar_type() == torch::kBFloat16));
  CHECK((model->head.scalar_type() == torch::kFloat));
  CHECK(model->head.data_ptr() == checkpoint.view("model.embed.weight").data_ptr());
  CHECK(torch::equal(model->embed, tensors[0].second.to(torch::kBFloat16)));
}

TEST_CASE("parameters registered as one tensor under two names need no tie") {
  struct Shared : torch::nn::Module {
    Shared() {
      auto w = torch::empty({10, 4});
      register_module("embed", std::make_shared<torch::nn::Module>())->register_parameter("weight", w);
      register_module("head", std::make_shared<torch::nn::Module>())->register_parameter("weight", w);
    }
  } module;
  TempDir dir;
  Checkpoint checkpoint = write(dir, {{"embed.weight", torch::randn({10, 4})}});
  capbench::load_module(module, checkpoint, "");
  CHECK(module.named_parameters()["head.weight"].data_ptr() == checkpoint.view("embed.weight").data_ptr());
}

TEST_CASE("missing, unexpected and mismatched tensors are reported together, in one error") {
  TempDir dir;
  auto tensors = tiny_tensors();
  tensors[1].second = torch::randn({4, 5});            // blocks.0.weight: wrong shape
  tensors.erase(tensors.begin() + 4);                   // blocks.1.bias: missing
  tensors.emplace_back("model.extra.weight", torch::randn({1}));  // unexpected
  Checkpoint checkpoint = write(dir, tensors);
  TinyModel model;
  std::string message = load_error(*model, checkpoint, "model.");  // and head.weight: missing (no tie)
  CAPTURE(message);
  CHECK(message.find("model.safetensors") != std::string::npos);
  CHECK(message.find("missing 2: blocks.1.bias, head.weight") != std::string::npos);
  CHECK(message.find("unexpected 1: model.extra.weight") != std::string::npos);
  CHECK(message.find("shape mismatch 1: blocks.0.weight (checkpoint model.blocks.0.weight [4, 5], module [4, 4])") !=
        std::string::npos);
  CHECK(message.find("other.weight") == std::string::npos);  // outside the prefix
  CHECK(message.find('\n') == std::string::npos);

  // Nothing was loaded: the module is untouched when the checkpoint does not fit.
  CHECK(model->embed.data_ptr() != checkpoint.view("model.embed.weight").data_ptr());
}

TEST_CASE("long lists are cut to a few names and a count; ignored names are not unexpected") {
  TempDir dir;
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (int i = 0; i < 12; ++i) tensors.emplace_back("stray." + std::to_string(i), torch::zeros({1}));
  tensors.emplace_back("embeddings.position_ids", torch::arange(4, torch::kLong));
  Checkpoint checkpoint = write(dir, tensors);
  torch::nn::Module empty;
  std::string message = load_error(empty, checkpoint, "");
  CHECK(message.find("unexpected 13: ") != std::string::npos);
  CHECK(message.find(", ... and 8 more") != std::string::npos);

  LoadOptions options;
  for (int i = 0; i < 12; ++i) options.ignore.insert("stray." + std::to_string(i));
  options.ignore.insert("embeddings.position_ids");
  capbench::load_module(empty, checkpoint, "", options);
}

TEST_CASE("a tie to an absent tensor is reported as missing") {
  TempDir dir;
  Checkpoint checkpoint = write(dir, {{"model.blocks.0.weight", torch::zeros({4, 4})}});
  TinyModel model;
  LoadOptions options;
  options.tied = {{"head.weight", "embed.weight"}};
  std::string message = load_error(*model, checkpoint, "model.", options);
  CHECK(message.find("head.weight") != std::string::npos);
  CHECK(message.find("embed.weight") != std::string::npos);
}

TEST_CASE("libtorch's own modules load a fixture's part and reproduce the reference") {
  // Q-Former input layernorm (eps 1e-12) over the query tokens, and the language
  // projection of the Q-Former output, with weights in fp32 and upcast from BF16 shards.
  for (const char* folder : {"blip2-opt-tiny", "blip2-opt-tiny-sharded"}) {
    CAPTURE(folder);
    Checkpoint checkpoint = Checkpoint::open(fixture(folder));
    Checkpoint refs = Checkpoint::open(fixture(std::string(folder) + "/references.safetensors"));
    torch::NoGradGuard no_grad;

    torch::nn::Linear projection(torch::nn::LinearOptions(32, 32));
    capbench::load_module(*projection, checkpoint, "language_projection.");
    CHECK(torch::allclose(projection(refs.view("qformer.last_hidden_state")), refs.view("language_projection"), 0, 1e-5));

    if (std::string(folder) == "blip2-opt-tiny") {
      torch::nn::LayerNorm norm(torch::nn::LayerNormOptions({32}).eps(1e-12));
      capbench::load_module(*norm, checkpoint, "qformer.layernorm.");
      at::Tensor queries = norm(checkpoint.view("query_tokens")).expand({2, -1, -1});
      CHECK(torch::allclose(queries, refs.view("qformer.hidden_states.0"), 0, 1e-5));
    }
  }
}

TEST_CASE("loading inside InferenceMode works for modules built inside and outside it") {
  TempDir dir;
  Checkpoint checkpoint = write(dir, tiny_tensors());
  LoadOptions options;
  options.tied = {{"head.weight", "embed.weight"}};
  TinyModel outside;
  {
    c10::InferenceMode guard;
    capbench::load_module(*outside, checkpoint, "model.", options);
    TinyModel inside;
    options.dtype = torch::kBFloat16;
    capbench::load_module(*inside, checkpoint, "model.", options);
    CHECK((inside->embed.scalar_type() == torch::kBFloat16));
  }
  CHECK(torch::equal(outside->embed, checkpoint.view("model.embed.weight")));
}
