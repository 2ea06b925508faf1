#include "core/nn/layers.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cmath>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"

namespace capbench::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias) {
  weight = register_parameter("weight", at::empty({out_features, in_features}), false);
  if (with_bias) bias = register_parameter("bias", at::empty({out_features}), false);
}

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

}  // namespace

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
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

at::Tensor Linear::forward(const at::Tensor& x) const { return linear(x, weight, bias); }

LayerNorm::LayerNorm(int64_t dim_, double eps_, bool elementwise_affine) : dim(dim_), eps(eps_) {
  if (!elementwise_affine) return;
  weight = register_parameter("weight", at::empty({dim}), false);
  bias = register_parameter("bias", at::empty({dim}), false);
}

at::Tensor LayerNorm::forward(const at::Tensor& x) const { return at::layer_norm(x, {dim}, weight, bias, eps); }

namespace {
bool known_activation(const std::string& name) {
  return name == "gelu" || name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "quick_gelu" ||
         name == "relu" || name == "silu" || name == "swish";
}
}  // namespace

void check_activation(const std::string& name, const std::string& where) {
  if (!known_activation(name))
    throw Error(where + ": activation '" + name +
                "' is not supported (gelu, gelu_new, gelu_pytorch_tanh, quick_gelu, relu, silu)");
}

at::Tensor activation(const std::string& name, const at::Tensor& x) {
  if (name == "gelu") return at::gelu(x);
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return at::gelu(x, "tanh");
  if (name == "quick_gelu") return x * at::sigmoid(x * 1.702);
  if (name == "relu") return at::relu(x);
  if (name == "silu" || name == "swish") return at::silu(x);
  throw Error("activation '" + name + "' is not supported");
}

at::Tensor split_heads(const at::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
#if TORCH_VERSION_MAJOR >= 2
  at::Tensor context = at::scaled_dot_product_attention(q, k, v);
#else
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1));
  scores.mul_(1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  at::Tensor context = at::matmul(at::softmax(scores, -1), v);
#endif
  return context.transpose(1, 2).reshape({q.size(0), q.size(2), q.size(1) * q.size(3)});
}

void check_compute_dtype(at::ScalarType dtype, const c10::Device& device, const std::string& where) {
#if TORCH_VERSION_MAJOR < 2
  if (device.is_cpu() && dtype == at::kHalf)
    throw Error(where + ": fp16 on the CPU needs libtorch 2 or later (this is " + TORCH_VERSION +
                "); use bf16 or fp32 on the CPU, or fp16 on CUDA");
#else
  (void)dtype;
  (void)device;
  (void)where;
#endif
}

void use_all_cores() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::getenv("OMP_NUM_THREADS") || std::getenv("MKL_NUM_THREADS")) return;
    const unsigned n = std::thread::hardware_concurrency();
    if (n > 0 && at::get_num_threads() != static_cast<int>(n)) at::set_num_threads(static_cast<int>(n));
  });
}

}  // namespace capbench::nn
