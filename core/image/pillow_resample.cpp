#include "core/image/pillow_resample.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"

namespace capbench::image {

namespace {

// The filters and supports of Resample.c, operation for operation (the float
// literals of the Hamming window included), so the double coefficients agree bit
// for bit before they are rounded to fixed point.
double box_filter(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

double bilinear_filter(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

double hamming_filter(double x) {
  if (x < 0.0) x = -x;
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x = x * M_PI;
  return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));
}

double bicubic_filter(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double sinc_filter(double x) {
  if (x == 0.0) return 1.0;
  x = x * M_PI;
  return std::sin(x) / x;
}

double lanczos_filter(double x) {
  if (-3.0 <= x && x < 3.0) return sinc_filter(x) * sinc_filter(x / 3);
  return 0.0;
}

struct Filter {
  double (*weight)(double);
  double support;
};

Filter filter_of(PillowFilter f) {
  switch (f) {
    case PillowFilter::box: return {box_filter, 0.5};
    case PillowFilter::bilinear: return {bilinear_filter, 1.0};
    case PillowFilter::hamming: return {hamming_filter, 1.0};
    case PillowFilter::bicubic: return {bicubic_filter, 2.0};
    case PillowFilter::lanczos: return {lanczos_filter, 3.0};
    default: throw Error("unsupported resampling filter");
  }
}

// 8 bits of result, 2 bits of headroom for filters whose partial sums leave 0..1.
constexpr int kPrecisionBits = 32 - 8 - 2;

inline uint8_t clip8(int32_t accumulator) {
  const int32_t v = accumulator >> kPrecisionBits;  // arithmetic shift, as in Pillow
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// For each output index: the first input index, how many inputs, and ksize
// fixed-point weights (zero past the count).
struct Coefficients {
  int ksize = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;
};

Coefficients precompute(int in_size, float in0, float in1, int out_size, const Filter& filter) {
  double scale = static_cast<double>(in1 - in0) / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = filter.support * filterscale;
  Coefficients c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    double ww = 0.0;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    for (int x = 0; x < xmax; ++x) {
      const double w = filter.weight((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    int32_t* out = &c.weights[static_cast<size_t>(xx) * c.ksize];
    for (int x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      out[x] = w < 0 ? static_cast<int32_t>(-0.5 + w * (1 << kPrecisionBits))
                     : static_cast<int32_t>(0.5 + w * (1 << kPrecisionBits));
    }
    c.first[xx] = xmin;
    c.count[xx] = xmax;
  }
  return c;
}

// Horizontal pass over rows [row_begin, row_end) of `in`; C channels.
template <int C>
void horizontal(const ImageView8& in, int row_begin, int row_end, const Coefficients& c, uint8_t* out) {
  const int out_width = static_cast<int>(c.first.size());
  int64_t off[4] = {0, 0, 0, 0};
  for (int ch = 0; ch < C; ++ch) off[ch] = in.channel_offsets[ch];
  for (int y = row_begin; y < row_end; ++y) {
    const uint8_t* row = in.data + y * in.row_stride;
    uint8_t* dst = out + static_cast<int64_t>(y - row_begin) * out_width * C;
    for (int xx = 0; xx < out_width; ++xx) {
      const int32_t* k = &c.weights[static_cast<size_t>(xx) * c.ksize];
      const uint8_t* src = row + static_cast<int64_t>(c.first[xx]) * in.pixel_stride;
      int32_t ss[C];
      for (int ch = 0; ch < C; ++ch) ss[ch] = 1 << (kPrecisionBits - 1);
      for (int x = 0; x < c.count[xx]; ++x, src += in.pixel_stride)
        for (int ch = 0; ch < C; ++ch) ss[ch] += src[off[ch]] * k[x];
      for (int ch = 0; ch < C; ++ch) dst[xx * C + ch] = clip8(ss[ch]);
    }
  }
}

// Vertical pass; input row y is row y + row_shift of `in` (Pillow's shifted bounds).
template <int C>
void vertical(const ImageView8& in, int row_shift, const Coefficients& c, uint8_t* out) {
  const int out_height = static_cast<int>(c.first.size());
  const int64_t width = in.width;
  int64_t off[4] = {0, 0, 0, 0};
  for (int ch = 0; ch < C; ++ch) off[ch] = in.channel_offsets[ch];
  std::vector<int32_t> acc(static_cast<size_t>(width) * C);
  for (int yy = 0; yy < out_height; ++yy) {
    const int32_t* k = &c.weights[static_cast<size_t>(yy) * c.ksize];
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    // Row by row over the window: the same integer sums as Pillow's column loop,
    // in an order that reads memory contiguously.
    for (int y = 0; y < c.count[yy]; ++y) {
      const uint8_t* row = in.data + static_cast<int64_t>(c.first[yy] - row_shift + y) * in.row_stride;
      const int32_t w = k[y];
      for (int64_t x = 0; x < width; ++x) {
        const uint8_t* px = row + x * in.pixel_stride;
        for (int ch = 0; ch < C; ++ch) acc[x * C + ch] += px[off[ch]] * w;
      }
    }
    uint8_t* dst = out + static_cast<int64_t>(yy) * width * C;
    for (int64_t i = 0; i < width * C; ++i) dst[i] = clip8(acc[i]);
  }
}

template <int C>
std::vector<uint8_t> resize_channels(const ImageView8& image, int out_h, int out_w, const Filter& filter) {
  const int in_h = static_cast<int>(image.height), in_w = static_cast<int>(image.width);
  // Pillow's box is (0, 0, width, height) as floats.
  const bool need_horizontal = out_w != in_w;
  const bool need_vertical = out_h != in_h;
  if (!need_horizontal && !need_vertical) {
    std::vector<uint8_t> copy(static_cast<size_t>(in_h) * in_w * C);
    for (int y = 0; y < in_h; ++y)
      for (int x = 0; x < in_w; ++x)
        for (int ch = 0; ch < C; ++ch)
          copy[(static_cast<size_t>(y) * in_w + x) * C + ch] =
              image.data[y * image.row_stride + x * image.pixel_stride + image.channel_offsets[ch]];
    return copy;
  }
  const Coefficients vert = precompute(in_h, 0.0f, static_cast<float>(in_h), out_h, filter);
  const int ybox_first = vert.first.front();
  const int ybox_last = vert.first.back() + vert.count.back();

  if (!need_horizontal) {
    std::vector<uint8_t> out(static_cast<size_t>(out_h) * in_w * C);
    vertical<C>(image, 0, vert, out.data());
    return out;
  }
  const Coefficients horiz = precompute(in_w, 0.0f, static_cast<float>(in_w), out_w, filter);
  std::vector<uint8_t> temp(static_cast<size_t>(ybox_last - ybox_first) * out_w * C);
  horizontal<C>(image, ybox_first, ybox_last, horiz, temp.data());
  if (!need_vertical) return temp;

  ImageView8 temp_view;
  temp_view.data = temp.data();
  temp_view.height = ybox_last - ybox_first;
  temp_view.width = out_w;
  temp_view.row_stride = static_cast<int64_t>(out_w) * C;
  temp_view.pixel_stride = C;
  for (int ch = 0; ch < C; ++ch) temp_view.channel_offsets.push_back(ch);
  std::vector<uint8_t> out(static_cast<size_t>(out_h) * out_w * C);
  vertical<C>(temp_view, ybox_first, vert, out.data());
  return out;
}

}  // namespace

PillowFilter pillow_filter(int64_t code) {
  switch (code) {
    case 1: return PillowFilter::lanczos;
    case 2: return PillowFilter::bilinear;
    case 3: return PillowFilter::bicubic;
    case 4: return PillowFilter::box;
    case 5: return PillowFilter::hamming;
    case 0: throw Error("resample 0 (nearest) is not supported; use 3 (bicubic) as BLIP does");
    default: throw Error("unknown resample code " + std::to_string(code) + " (Pillow knows 0 to 5)");
  }
}

std::vector<uint8_t> pillow_resize(const ImageView8& image, int64_t out_height, int64_t out_width, PillowFilter filter) {
  if (image.height <= 0 || image.width <= 0) throw Error("cannot resize an empty image");
  if (out_height <= 0 || out_width <= 0)
    throw Error("resize target " + std::to_string(out_width) + "x" + std::to_string(out_height) + " is empty");
  if (image.height > INT32_MAX / 4 || image.width > INT32_MAX / 4 || out_height > 1 << 20 || out_width > 1 << 20)
    throw Error("image too large to resize");
  const Filter f = filter_of(filter);
  const int h = static_cast<int>(out_height), w = static_cast<int>(out_width);
  switch (image.channel_offsets.size()) {
    case 1: return resize_channels<1>(image, h, w, f);
    case 2: return resize_channels<2>(image, h, w, f);
    case 3: return resize_channels<3>(image, h, w, f);
    case 4: return resize_channels<4>(image, h, w, f);
    default: throw Error("pillow_resize: 1 to 4 channels expected");
  }
}

}  // namespace capbench::image
