#include "core/nn/linear.h"

#include <ATen/ATen.h>

#include <vector>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/nn/activations.h"

namespace capbench::nn {

namespace {

// libtorch's product, for layers that are not packed (CUDA, fp16, capbench
// built without oneDNN).

// From this many rows on, oneDNN's inner product beats the BLAS libtorch links
// (measured 2-3.5x from 32 rows on Debian's OpenBLAS 0.3.21, whose AVX2 kernels
// run single-threaded under capbench, core/blas_threads.cpp); below it, BLAS wins.
constexpr int64_t kOneDnnMinRows = 16;

bool use_onednn(const at::Tensor& x, const at::Tensor& weight, int64_t rows) {
  static const bool available = at::hasMKLDNN();
  return available && rows >= kOneDnnMinRows && x.device().is_cpu() && x.scalar_type() == at::kFloat &&
         weight.scalar_type() == at::kFloat && weight.is_contiguous();
}

// x's sizes with the last one replaced by `last`.
std::vector<int64_t> sizes_with_last(const at::Tensor& x, int64_t last) {
  std::vector<int64_t> sizes(x.sizes().begin(), x.sizes().end());
  sizes.back() = last;
  return sizes;
}

at::Tensor libtorch_product(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const int64_t in = x.size(-1), rows = in == 0 ? 0 : x.numel() / in;
  if (rows == 1 && x.device().is_cpu() && x.scalar_type() == at::kFloat) {
    // A matrix-vector product reads the weight once, at memory speed; OpenBLAS's
    // matrix product packs it first and takes about 3x longer (a decoding step).
    at::Tensor y = at::mv(weight, x.reshape({in}));
    if (bias.defined()) y.add_(bias);
    return y.view(sizes_with_last(x, weight.size(0)));
  }
  if (use_onednn(x, weight, rows)) {
    const c10::optional<at::Tensor> b = bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt;
    at::Tensor y = at::mkldnn_linear(x.reshape({rows, in}).contiguous().to_mkldnn(), weight, b).to_dense();
    return y.view(sizes_with_last(x, weight.size(0)));
  }
  return at::linear(x, weight, bias);
}

std::optional<PackedCompute> packed_compute_of(const c10::Device& device, at::ScalarType dtype, bool int8) {
  if (!device.is_cpu() || !packed_linear_available()) return std::nullopt;
  if (int8) return PackedCompute::int8;
  if (dtype == at::kFloat) return PackedCompute::fp32;
  if (dtype == at::kBFloat16) return PackedCompute::bf16;
  return std::nullopt;
}

}  // namespace

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias) : in_(in_features), out_(out_features) {
  weight_ = register_parameter("weight", at::empty({out_features, in_features}), false);
  if (with_bias) bias_ = register_parameter("bias", at::empty({out_features}), false);
}

Linear::Linear(const at::Tensor& weight, const at::Tensor& bias) {
  if (weight.dim() != 2) throw Error("nn::Linear: the weight must be [out, in]");
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != weight.size(0)))
    throw Error("nn::Linear: the bias must be [out]");
  in_ = weight.size(1);
  out_ = weight.size(0);
  weight_ = register_parameter("weight", weight, false);
  if (bias.defined()) bias_ = register_parameter("bias", bias, false);
}

void Linear::set_bias(const at::Tensor& bias) {
  if (prepared_) throw Error("nn::Linear: set_bias() after prepare()");
  bias_ = bias;
}

void Linear::set_activation(const std::string& name) {
  if (prepared_) throw Error("nn::Linear: set_activation() after prepare()");
  check_activation(name, "nn::Linear");
  activation_ = name;
}

void Linear::prepare() {
  prepare(packed_compute_of(weight_.device(), weight_.scalar_type(), false));
}

void Linear::prepare(std::optional<PackedCompute> compute) {
  if (prepared_) return;
  // load_module() replaced the parameters' data; the members see it through the
  // shared tensor implementation.
  if (weight_.size(0) != out_ || weight_.size(1) != in_)
    throw Error("nn::Linear: the weight changed shape after construction");
  if (compute) {
    // bf16 outputs are rounded before the activation, as transformers computes
    // them: the activation stays outside the product.
    activation_fused_ = !activation_.empty() && *compute != PackedCompute::bf16;
    const FusedActivation fused =
        activation_fused_ ? fused_activation(activation_, "nn::Linear") : FusedActivation::none;
    packed_ = std::make_unique<PackedLinear>(weight_, bias_, *compute, fused);
    release_sources();
  }
  prepared_ = true;
}

void Linear::release_sources() {
  // The pages of a file-mapped weight go (a view shared with an embedding reads
  // them again when it needs them); the tensors go when nothing else holds them.
  release_file_pages(weight_);
  weight_ = at::Tensor();
  bias_ = at::Tensor();
  for (const char* name : {"weight", "bias"})
    if (parameters_.contains(name)) parameters_[name] = at::Tensor();
}

std::optional<PackedCompute> Linear::compute() const {
  return packed_ ? std::optional<PackedCompute>(packed_->compute()) : std::nullopt;
}

at::Tensor Linear::forward(const at::Tensor& x) const {
  if (!prepared_) throw Error("nn::Linear: forward() before prepare() (call nn::prepare(model) after loading)");
  at::Tensor y = packed_ ? packed_->forward(x) : libtorch_product(x, weight_, bias_);
  return activation_.empty() || activation_fused_ ? y : nn::activation(activation_, y);
}

size_t Linear::weight_bytes() const {
  if (packed_) return packed_->weight_bytes();
  return weight_.nbytes() + (bias_.defined() ? bias_.nbytes() : 0);
}

std::optional<PackedCompute> packed_compute_for(const Placement& place) {
  return packed_compute_of(place.device, place.dtype, place.int8);
}

namespace {

template <class Visit>
void for_each_linear(torch::nn::Module& model, Visit visit) {
  if (auto* linear = dynamic_cast<Linear*>(&model)) visit(*linear);
  for (const auto& child : model.modules(/*include_self=*/false))
    if (auto* linear = dynamic_cast<Linear*>(child.get())) visit(*linear);
}

}  // namespace

void prepare(torch::nn::Module& model) {
  for_each_linear(model, [](Linear& linear) { linear.prepare(); });
}

void prepare(torch::nn::Module& model, const Placement& place) {
  const std::optional<PackedCompute> compute = packed_compute_for(place);
  for_each_linear(model, [&](Linear& linear) { linear.prepare(compute); });
}

std::set<std::string> linear_weight_names(torch::nn::Module& model) {
  std::set<std::string> names;
  if (dynamic_cast<Linear*>(&model)) names.insert("weight");
  for (const auto& child : model.named_modules("", /*include_self=*/false))
    if (dynamic_cast<Linear*>(child.value().get())) names.insert(child.key() + ".weight");
  return names;
}

LoadOptions load_options(const Placement& place, torch::nn::Module& model) {
  LoadOptions options;
  options.dtype = place.dtype;
  options.device = place.device;
  if (packed_compute_for(place)) options.keep_stored = linear_weight_names(model);
  return options;
}

}  // namespace capbench::nn
