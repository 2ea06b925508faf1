#include "core/nn/packed_linear.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"

#ifdef CAPBENCH_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace capbench::nn {

PackedCompute parse_packed_compute(const std::string& name) {
  if (name == "fp32") return PackedCompute::fp32;
  if (name == "bf16") return PackedCompute::bf16;
  if (name == "int8") return PackedCompute::int8;
  throw Error("unknown packed compute type '" + name + "' (fp32, bf16, int8)");
}

std::string packed_compute_name(PackedCompute compute) {
  switch (compute) {
    case PackedCompute::fp32: return "fp32";
    case PackedCompute::bf16: return "bf16";
    case PackedCompute::int8: return "int8";
  }
  return "?";
}

FusedActivation fused_activation(const std::string& name, const std::string& where) {
  if (name == "gelu") return FusedActivation::gelu_erf;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return FusedActivation::gelu_tanh;
  if (name == "quick_gelu") return FusedActivation::quick_gelu;
  if (name == "relu") return FusedActivation::relu;
  if (name == "silu" || name == "swish") return FusedActivation::silu;
  throw Error(where + ": activation '" + name +
              "' cannot be fused (gelu, gelu_new, gelu_pytorch_tanh, quick_gelu, relu, silu, swish)");
}

void check_packed_compute(PackedCompute compute, const std::string& where, const CpuFeatures& features) {
  if (features.isa.empty())
    throw Error(where + ": " + packed_compute_name(compute) +
                " on the packed CPU path needs capbench built with oneDNN (Debian's libdnnl-dev)");
  if (compute == PackedCompute::int8 && !features.int8)
    throw Error(
        where +
        ": int8 needs a CPU with at least AVX2 (oneDNN's int8 kernels; VNNI makes them fast), this one offers " +
        features.isa + "; use bf16 or fp32");
}

void check_packed_compute(PackedCompute compute, const std::string& where) {
  check_packed_compute(compute, where, cpu_features());
}

#ifdef CAPBENCH_HAVE_ONEDNN

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Type = memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// oneDNN's ISA values are bit sets, each holding the bits of the ISAs it extends.
bool isa_has(dnnl::cpu_isa have, dnnl::cpu_isa want) {
  const auto h = static_cast<unsigned>(have), w = static_cast<unsigned>(want);
  return (h & w) == w;
}

std::string isa_name(dnnl::cpu_isa isa) {
  using I = dnnl::cpu_isa;
  static const std::pair<I, const char*> kNames[] = {{I::avx512_core_amx, "avx512_core_amx"},
                                                     {I::avx512_core_bf16, "avx512_core_bf16"},
                                                     {I::avx512_core_vnni, "avx512_core_vnni"},
                                                     {I::avx512_core, "avx512_core"},
                                                     {I::avx2_vnni, "avx2_vnni"},
                                                     {I::avx2, "avx2"},
                                                     {I::avx, "avx"},
                                                     {I::sse41, "sse41"}};
  for (const auto& [value, name] : kNames)
    if (isa_has(isa, value)) return name;
  return "baseline x86-64";
}

// The product runs as oneDNN's 1x1 convolution over a [1, features, 1, rows]
// image in nhwc, whose memory is x [rows, features] row-major as it stands (y
// likewise). On AVX2 the convolution kernels read weights in a blocked layout
// prepared once, where oneDNN's inner product and matmul fall back to a GEMM
// that packs the weight again on every call (measured about 2x slower at 8 rows
// and far slower in int8; bench/linear_bench.cpp times the result).
memory::desc rows_desc(int64_t rows, int64_t features, Type type) {
  return memory::desc({1, features, 1, rows}, type, Tag::nhwc);
}

memory::desc weights_desc(int64_t out, int64_t in, Type type, Tag tag) {
  return memory::desc({out, in, 1, 1}, type, tag);
}

// Row count for which the packed layout is chosen; oneDNN's 1x1 kernels keep
// one weight layout for every row count.
constexpr int64_t kLayoutRows = 64;
// Row counts whose primitives are kept per layer; past it the cache starts
// over (oneDNN's own primitive cache still spares most of the rebuilding).
constexpr size_t kMaxPlans = 64;

bool append_activation(dnnl::post_ops& ops, FusedActivation activation) {
  using A = dnnl::algorithm;
  switch (activation) {
    case FusedActivation::none: return false;
    case FusedActivation::relu: ops.append_eltwise(1.f, A::eltwise_relu, 0.f, 0.f); return true;
    case FusedActivation::gelu_erf: ops.append_eltwise(1.f, A::eltwise_gelu_erf, 0.f, 0.f); return true;
    case FusedActivation::gelu_tanh: ops.append_eltwise(1.f, A::eltwise_gelu_tanh, 0.f, 0.f); return true;
    // x * sigmoid(alpha x): transformers' quick_gelu with alpha 1.702, silu with 1.
    case FusedActivation::quick_gelu: ops.append_eltwise(1.f, A::eltwise_swish, 1.702f, 0.f); return true;
    case FusedActivation::silu: ops.append_eltwise(1.f, A::eltwise_swish, 1.f, 0.f); return true;
  }
  return false;
}

// The primitives that compute one row count.
struct Plan {
  dnnl::convolution_forward product;
  memory::desc src, dst;
  dnnl::reorder quantize;   // int8: x fp32 -> s8 with one scale per row
  dnnl::binary dequantize;  // int8: y * row scale, + bias, activation, in place
  std::string kernel;
};

}  // namespace

CpuFeatures cpu_features() {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  CpuFeatures features;
  features.isa = isa_name(isa);
  features.int8 = isa_has(isa, dnnl::cpu_isa::avx2);
  features.vnni = isa_has(isa, dnnl::cpu_isa::avx512_core_vnni) || isa_has(isa, dnnl::cpu_isa::avx2_vnni);
  features.bf16_kernels = isa_has(isa, dnnl::cpu_isa::avx512_core);
  features.native_bf16 = isa_has(isa, dnnl::cpu_isa::avx512_core_bf16);
  return features;
}

bool packed_linear_available() { return true; }

int int8_weight_bits() {
  // oneDNN 2.6 keeps all 8 bits only in its AVX-512 VNNI kernels; AVX2 (AVX_VNNI
  // included, to be safe) and plain AVX-512 halve the weights.
  return isa_has(dnnl::get_effective_cpu_isa(), dnnl::cpu_isa::avx512_core_vnni) ? 8 : 7;
}

struct PackedLinear::Impl {
  int64_t in = 0, out = 0;
  PackedCompute compute = PackedCompute::fp32;
  FusedActivation activation = FusedActivation::none;
  Type weight_type = Type::f32;    // of the packed weights and of the product's input
  bool bf16_through_fp32 = false;  // bf16 asked, no bf16 kernels: inputs rounded to bf16, fp32 product
  memory weights;
  memory bias;           // fp32 [out]; empty without bias
  memory weight_scales;  // int8: fp32 [1, out], one per output row
  mutable std::mutex mutex;
  mutable std::unordered_map<int64_t, Plan> plans;  // by rows * 2 + (output in bf16)
  mutable dnnl::stream stream{cpu_engine()};

  bool int8() const { return weight_type == Type::s8; }

  // Nothing of one layer's values goes into the attributes (int8 scales and the
  // bias are arguments of each call), so that layers of one shape share oneDNN's
  // cached kernels.
  dnnl::primitive_attr product_attr() const {
    dnnl::primitive_attr attr;
    attr.set_fpmath_mode(dnnl::fpmath_mode::strict);  // never bf16 inside an fp32 product
    dnnl::post_ops ops;
    if (!int8() && append_activation(ops, activation)) attr.set_post_ops(ops);
    return attr;
  }

  dnnl::convolution_forward::primitive_desc product_desc(int64_t rows, const memory::desc& weights_md,
                                                         Type dst_type) const {
    const memory::desc bias_md = bias && !int8() ? bias.get_desc() : memory::desc();
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                               rows_desc(rows, in, weight_type), weights_md, bias_md,
                                               rows_desc(rows, out, dst_type), {1, 1}, {0, 0}, {0, 0});
    return dnnl::convolution_forward::primitive_desc(desc, product_attr(), cpu_engine());
  }

  // Reorders `plain` (an [out, in] matrix of `type`, contiguous) into the layout
  // the product reads.
  void pack(const at::Tensor& plain, Type type) {
    weight_type = type;
    const auto layout = product_desc(kLayoutRows, weights_desc(out, in, type, Tag::any), Type::f32);
    weights = memory(layout.weights_desc(), cpu_engine());
    memory source(weights_desc(out, in, type, Tag::oihw), cpu_engine(), plain.data_ptr());
    dnnl::reorder(source, weights).execute(stream, source, weights);
    stream.wait();
  }

  void set_bias(const at::Tensor& b) {
    if (!b.defined()) return;
    if (b.dim() != 1 || b.size(0) != out || !b.device().is_cpu())
      throw Error("PackedLinear: bias must be a CPU tensor [" + std::to_string(out) + "], got " + b.toString() + " " +
                  std::to_string(b.dim()) + "-d");
    const at::Tensor values = b.to(at::kFloat).contiguous();
    bias = memory(memory::desc({out}, Type::f32, Tag::x), cpu_engine());
    std::copy_n(values.data_ptr<float>(), out, static_cast<float*>(bias.get_data_handle()));
  }

  Plan make_plan(int64_t rows, Type dst_type) const {
    Plan plan;
    const auto pd = product_desc(rows, weights.get_desc(), dst_type);
    plan.product = dnnl::convolution_forward(pd);
    plan.src = pd.src_desc();
    plan.dst = pd.dst_desc();
    plan.kernel = pd.impl_info_str();
    if (!int8()) return plan;
    const memory::desc x32({rows, in}, Type::f32, Tag::ab), x8({rows, in}, Type::s8, Tag::ab);
    dnnl::primitive_attr quantize_attr;
    quantize_attr.set_output_scales(1 << 0, {DNNL_RUNTIME_F32_VAL});
    plan.quantize = dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), x32, cpu_engine(), x8, quantize_attr));
    // The product leaves the int32 sums in fp32; one pass scales them by row and
    // by column, adds the bias and applies the activation.
    const memory::desc y({rows, out}, Type::f32, Tag::ab), row_scales({rows, 1}, Type::f32, Tag::ab);
    dnnl::post_ops ops;
    ops.append_binary(dnnl::algorithm::binary_mul, weight_scales.get_desc());
    if (bias) ops.append_binary(dnnl::algorithm::binary_add, memory::desc({1, out}, Type::f32, Tag::ab));
    append_activation(ops, activation);
    dnnl::primitive_attr dequantize_attr;
    dequantize_attr.set_post_ops(ops);
    plan.dequantize = dnnl::binary(dnnl::binary::primitive_desc(
        dnnl::binary::desc(dnnl::algorithm::binary_mul, y, row_scales, y), dequantize_attr, cpu_engine()));
    return plan;
  }

  const Plan& plan(int64_t rows, Type dst_type) const {
    const int64_t key = rows * 2 + (dst_type == Type::bf16 ? 1 : 0);
    auto found = plans.find(key);
    if (found != plans.end()) return found->second;
    if (plans.size() >= kMaxPlans) plans.clear();
    return plans.emplace(key, make_plan(rows, dst_type)).first->second;
  }

  void run_product(const Plan& plan, void* x, void* y) const {
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(plan.src, cpu_engine(), x)},
                                         {DNNL_ARG_WEIGHTS, weights},
                                         {DNNL_ARG_DST, memory(plan.dst, cpu_engine(), y)}};
    if (bias && !int8()) args.emplace(DNNL_ARG_BIAS, bias);
    plan.product.execute(stream, args);
  }

  // x [rows, in] fp32 or bf16 -> y [rows, out] in x's dtype.
  at::Tensor forward_rows(const at::Tensor& x, int64_t rows) const {
    const bool bf16_out = x.scalar_type() == at::kBFloat16;
    if (int8()) return forward_int8(x, rows).to(x.scalar_type());
    // bf16 kernels write bf16 directly; fp32 ones (fp32, or bf16 on a CPU without
    // bf16 kernels) write fp32, converted after.
    const Type dst_type = bf16_out && weight_type == Type::bf16 ? Type::bf16 : Type::f32;
    at::Tensor src = x.to(weight_type == Type::bf16 || bf16_through_fp32 ? at::kBFloat16 : at::kFloat);
    src = src.to(weight_type == Type::bf16 ? at::kBFloat16 : at::kFloat).contiguous();
    at::Tensor y = at::empty({rows, out}, x.options().dtype(dst_type == Type::bf16 ? at::kBFloat16 : at::kFloat));
    run_product(plan(rows, dst_type), src.data_ptr(), y.data_ptr());
    stream.wait();
    return y.to(x.scalar_type());
  }

  at::Tensor forward_int8(const at::Tensor& x, int64_t rows) const {
    const Plan& p = plan(rows, Type::f32);
    const at::Tensor x32 = x.to(at::kFloat).contiguous();
    std::vector<float> scales(rows), inverse(rows);
    const float* values = x32.data_ptr<float>();
    at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        float largest = 0.f;
        for (const float* v = values + r * in; v != values + (r + 1) * in; ++v)
          largest = std::max(largest, std::fabs(*v));
        scales[r] = largest / 127.f;
        inverse[r] = largest > 0.f ? 127.f / largest : 0.f;
      }
    });
    at::Tensor quantized = at::empty({rows, in}, x32.options().dtype(at::kChar));
    memory inverse_scales(memory::desc({rows}, Type::f32, Tag::x), cpu_engine(), inverse.data());
    p.quantize.execute(
        stream, {{DNNL_ARG_FROM, memory(memory::desc({rows, in}, Type::f32, Tag::ab), cpu_engine(), x32.data_ptr())},
                 {DNNL_ARG_TO, memory(memory::desc({rows, in}, Type::s8, Tag::ab), cpu_engine(), quantized.data_ptr())},
                 {DNNL_ARG_ATTR_OUTPUT_SCALES, inverse_scales}});
    at::Tensor y = at::empty({rows, out}, x32.options());
    run_product(p, quantized.data_ptr(), y.data_ptr());
    memory y_md(memory::desc({rows, out}, Type::f32, Tag::ab), cpu_engine(), y.data_ptr());
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC_0, y_md},
        {DNNL_ARG_SRC_1, memory(memory::desc({rows, 1}, Type::f32, Tag::ab), cpu_engine(), scales.data())},
        {DNNL_ARG_DST, y_md}};
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, weight_scales);
    if (bias) {
      const memory row(memory::desc({1, out}, Type::f32, Tag::ab), cpu_engine(), bias.get_data_handle());
      args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1, row);
    }
    p.dequantize.execute(stream, args);
    stream.wait();
    return y;
  }
};

namespace {

void check_weight(const at::Tensor& weight) {
  if (weight.dim() != 2 || !weight.device().is_cpu() ||
      (weight.scalar_type() != at::kFloat && weight.scalar_type() != at::kBFloat16 &&
       weight.scalar_type() != at::kHalf))
    throw Error("PackedLinear: weight must be a 2-d fp32, bf16 or fp16 CPU tensor [out, in], got " + weight.toString() +
                " " + std::to_string(weight.dim()) + "-d" +
                (weight.device().is_cpu() ? "" : " (on CUDA keep nn::linear)"));
}

}  // namespace

PackedLinear::PackedLinear(const at::Tensor& weight, const at::Tensor& bias, PackedCompute compute,
                           FusedActivation activation)
    : impl_(std::make_unique<Impl>()) {
  check_packed_compute(compute, "PackedLinear");
  check_weight(weight);
  if (compute == PackedCompute::int8) {
    *this = PackedLinear(quantize_rows_int8(weight), bias, activation);
    return;
  }
  Impl& impl = *impl_;
  impl.in = weight.size(1);
  impl.out = weight.size(0);
  impl.compute = compute;
  impl.activation = activation;
  impl.set_bias(bias);
  if (compute == PackedCompute::fp32) {
    impl.pack(weight.to(at::kFloat).contiguous(), Type::f32);
    return;
  }
  const at::Tensor bf16 = weight.to(at::kBFloat16).contiguous();
  try {
    impl.pack(bf16, Type::bf16);
  } catch (const dnnl::error&) {
    // No bf16 kernels on this CPU (below AVX-512): the bf16 values in fp32 and an
    // fp32 product, which gives bf16 kernels' results up to summation order.
    impl.bf16_through_fp32 = true;
    impl.pack(bf16.to(at::kFloat), Type::f32);
  }
}

PackedLinear::PackedLinear(const Int8Rows& weight, const at::Tensor& bias, FusedActivation activation)
    : impl_(std::make_unique<Impl>()) {
  check_packed_compute(PackedCompute::int8, "PackedLinear");
  const at::Tensor& values = weight.values;
  if (values.dim() != 2 || values.scalar_type() != at::kChar || !values.device().is_cpu() ||
      weight.scales.numel() != values.size(0))
    throw Error("PackedLinear: int8 weight must be CPU int8 [out, in] with fp32 scales [out]");
  Impl& impl = *impl_;
  impl.in = values.size(1);
  impl.out = values.size(0);
  impl.compute = PackedCompute::int8;
  impl.activation = activation;
  impl.set_bias(bias);
  const at::Tensor scales = weight.scales.to(at::kFloat).contiguous();
  impl.weight_scales = memory(memory::desc({1, impl.out}, Type::f32, Tag::ab), cpu_engine());
  std::copy_n(scales.data_ptr<float>(), impl.out, static_cast<float*>(impl.weight_scales.get_data_handle()));
  impl.pack(values.contiguous(), Type::s8);
}

at::Tensor PackedLinear::forward(const at::Tensor& x) const {
  const Impl& impl = *impl_;
  if (!x.device().is_cpu() || (x.scalar_type() != at::kFloat && x.scalar_type() != at::kBFloat16) || x.dim() < 1 ||
      x.size(-1) != impl.in) {
    std::ostringstream got;
    got << x.toString() << " " << x.sizes();
    throw Error("PackedLinear: input must be an fp32 or bf16 CPU tensor [..., " + std::to_string(impl.in) + "], got " +
                got.str());
  }
  std::vector<int64_t> sizes(x.sizes().begin(), x.sizes().end());
  sizes.back() = impl.out;
  const int64_t rows = x.numel() / impl.in;
  if (rows == 0) return at::empty(sizes, x.options());
  std::lock_guard<std::mutex> lock(impl.mutex);
  return impl.forward_rows(x.reshape({rows, impl.in}), rows).view(sizes);
}

std::string PackedLinear::kernel(int64_t rows) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->plan(rows, Type::f32).kernel;
}

size_t PackedLinear::weight_bytes() const {
  const Impl& impl = *impl_;
  return impl.weights.get_desc().get_size() + (impl.weight_scales ? impl.weight_scales.get_desc().get_size() : 0) +
         (impl.bias ? impl.bias.get_desc().get_size() : 0);
}

#else  // no oneDNN: every constructor refuses

CpuFeatures cpu_features() { return {}; }
bool packed_linear_available() { return false; }
int int8_weight_bits() { return 0; }

struct PackedLinear::Impl {
  int64_t in = 0, out = 0;
  PackedCompute compute = PackedCompute::fp32;
};

PackedLinear::PackedLinear(const at::Tensor&, const at::Tensor&, PackedCompute compute, FusedActivation) {
  check_packed_compute(compute, "PackedLinear");
}
PackedLinear::PackedLinear(const Int8Rows&, const at::Tensor&, FusedActivation) {
  check_packed_compute(PackedCompute::int8, "PackedLinear");
}
at::Tensor PackedLinear::forward(const at::Tensor&) const { throw Error("PackedLinear: built without oneDNN"); }
std::string PackedLinear::kernel(int64_t) const { return ""; }
size_t PackedLinear::weight_bytes() const { return 0; }

#endif

PackedLinear::~PackedLinear() = default;
PackedLinear::PackedLinear(PackedLinear&&) noexcept = default;
PackedLinear& PackedLinear::operator=(PackedLinear&&) noexcept = default;

int64_t PackedLinear::in_features() const { return impl_->in; }
int64_t PackedLinear::out_features() const { return impl_->out; }
PackedCompute PackedLinear::compute() const { return impl_->compute; }

}  // namespace capbench::nn
