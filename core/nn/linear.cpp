#include "core/nn/linear.h"

#include <ATen/ATen.h>

#include <vector>

#include "core/error.h"

namespace capbench::nn {

namespace {

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

at::Tensor product(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
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

}  // namespace

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias) {
  weight_ = register_parameter("weight", at::empty({out_features, in_features}), false);
  if (with_bias) bias_ = register_parameter("bias", at::empty({out_features}), false);
}

Linear::Linear(const at::Tensor& weight, const at::Tensor& bias) {
  if (weight.dim() != 2) throw Error("nn::Linear: the weight must be [out, in]");
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != weight.size(0)))
    throw Error("nn::Linear: the bias must be [out]");
  weight_ = register_parameter("weight", weight, false);
  if (bias.defined()) bias_ = register_parameter("bias", bias, false);
}

void Linear::set_bias(const at::Tensor& bias) {
  if (prepared_) throw Error("nn::Linear: set_bias() after prepare()");
  bias_ = bias;
}

void Linear::prepare() {
  if (prepared_) return;
  // load_module() replaces the parameters' data; the members see it through
  // the shared tensor implementation, so nothing is copied here.
  prepared_ = true;
}

at::Tensor Linear::forward(const at::Tensor& x) const {
  if (!prepared_) throw Error("nn::Linear: forward() before prepare() (call nn::prepare(model) after loading)");
  return product(x, weight_, bias_);
}

void prepare(torch::nn::Module& model) {
  if (auto* linear = dynamic_cast<Linear*>(&model)) linear->prepare();
  for (const auto& child : model.modules(/*include_self=*/false))
    if (auto* linear = dynamic_cast<Linear*>(child.get())) linear->prepare();
}

}  // namespace capbench::nn
