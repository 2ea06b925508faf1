#pragma once
// Resizing of 8-bit images exactly as Pillow (9.x, src/libImaging/Resample.c)
// computes Image.resize((width, height), filter) over the whole image: separable
// convolution, horizontal pass first (only over the rows the vertical pass
// reads), filter support widened by the scale when shrinking (antialiasing),
// coefficients normalised in double then turned into 22-bit fixed point, each
// pass rounded and clipped to 0..255. OpenCV's INTER_CUBIC is another filter.
#include <cstdint>
#include <vector>

namespace capbench::image {

// Pillow's Image.Resampling codes (preprocessor_config.json "resample").
enum class PillowFilter : int { nearest = 0, lanczos = 1, bilinear = 2, bicubic = 3, box = 4, hamming = 5 };

// The filter of a "resample" code; throws Error for codes Pillow lacks and for
// nearest (which Pillow computes as an affine transform, not supported here).
PillowFilter pillow_filter(int64_t code);

// An 8-bit image read in place: channel c of pixel (y, x) is the byte at
// data[y * row_stride + x * pixel_stride + channel_offsets[c]]. The offsets pick
// and order channels, so BGR(A) memory is read as RGB without a copy.
struct ImageView8 {
  const uint8_t* data = nullptr;
  int64_t height = 0;
  int64_t width = 0;
  int64_t row_stride = 0;                // bytes from one row to the next
  int64_t pixel_stride = 0;              // bytes from one pixel to the next
  std::vector<int64_t> channel_offsets;  // 1 to 4 channels
};

// Returns out_height x out_width x channels, interleaved. An image already of
// that size comes back as a copy, as in Pillow.
std::vector<uint8_t> pillow_resize(const ImageView8& image, int64_t out_height, int64_t out_width, PillowFilter filter);

}  // namespace capbench::image
