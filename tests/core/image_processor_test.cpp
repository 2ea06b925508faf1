// BLIP image preprocessing against tests/fixtures/images (Pillow 9.4 +
// transformers 4.40.2): decoding, RGB conversion, Pillow's bicubic resize and
// normalisation; formats, EXIF orientation, bad files.
#include "core/image_processor.h"

#include <doctest/doctest.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/image/image_decoder.h"
#include "core/image/image_error.h"
#include "core/image/pillow_resample.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using capbench::ImageProcessor;
using capbench::ImageProcessorConfig;

namespace {

const fs::path kImages = capbench::testing::fixture("images");

const capbench::Checkpoint& references() {
  static const capbench::Checkpoint refs = capbench::Checkpoint::open(kImages / "references.safetensors");
  return refs;
}

const char* const kFiles[] = {"rgb_640x480.png", "rgb_300x500.jpg", "gray_200x256.jpg", "rgba_180x120.png"};

ImageProcessor fixture_processor() { return ImageProcessor(ImageProcessorConfig::from_folder(kImages)); }

// A scratch folder removed at the end of the test.
struct ScratchDir {
  capbench::testing::TempDir temp;
  const fs::path& path = temp.path();
};

std::vector<char> read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& file, const char* data, size_t size) {
  std::ofstream out(file, std::ios::binary);
  out.write(data, static_cast<std::streamsize>(size));
}

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

TEST_CASE("the fixture's preprocessor_config.json is read") {
  const ImageProcessorConfig c = ImageProcessorConfig::from_folder(kImages);
  CHECK(c.height == 224);
  CHECK(c.width == 224);
  CHECK(c.resample == 3);
  CHECK(c.rescale_factor == doctest::Approx(1.0 / 255.0));
  CHECK(c.image_mean[0] == 0.48145466);
  CHECK(c.image_std[2] == 0.27577711);
}

TEST_CASE("resized pixels equal Pillow's bicubic resize byte for byte") {
  const ImageProcessor processor = fixture_processor();
  for (int i = 0; i < 4; ++i) {
    CAPTURE(kFiles[i]);
    const torch::Tensor expected = references().view("img" + std::to_string(i) + ".resized_uint8");
    const torch::Tensor got = processor.load_resized(kImages / kFiles[i]);
    REQUIRE(got.sizes() == expected.sizes());
    CHECK(got.ne(expected).sum().item<int64_t>() == 0);
  }
}

TEST_CASE("pixel_values match transformers' BlipImageProcessor within 1e-6") {
  const ImageProcessor processor = fixture_processor();
  for (int i = 0; i < 4; ++i) {
    CAPTURE(kFiles[i]);
    const torch::Tensor expected = references().view("img" + std::to_string(i) + ".pixel_values");
    const torch::Tensor got = processor.load(kImages / kFiles[i]);
    REQUIRE(got.sizes() == expected.sizes());
    CHECK(got.sub(expected).abs().max().item<double>() <= 1e-6);
  }
}

TEST_CASE("decoding gives PIL's pixels: JPEG colour and gray, RGBA with alpha dropped") {
  using capbench::image::decode_image;
  using capbench::image::to_rgb_tensor;
  const torch::Tensor jpeg = to_rgb_tensor(decode_image(kImages / "rgb_300x500.jpg"));
  CHECK(jpeg.equal(references().view("img1.decoded")));

  const auto gray = decode_image(kImages / "gray_200x256.jpg");
  CHECK(gray.view.channel_offsets.size() == 1);
  CHECK(to_rgb_tensor(gray).equal(references().view("img2.rgb")));
  const torch::Tensor gray_plane = to_rgb_tensor(gray).select(2, 0);
  CHECK(gray_plane.equal(references().view("img2.decoded")));

  CHECK(to_rgb_tensor(decode_image(kImages / "rgba_180x120.png")).equal(references().view("img3.rgb")));
}

TEST_CASE("a batch stacks the single images and equals the BLIP-2 fixture's pixel_values") {
  const ImageProcessor processor = fixture_processor();
  const torch::Tensor batch = processor.load_batch({kImages / kFiles[0], kImages / kFiles[1]});
  const capbench::Checkpoint model_refs = capbench::Checkpoint::open(
      capbench::testing::fixture("blip2-opt-tiny/references.safetensors"));
  const torch::Tensor expected = model_refs.view("pixel_values");
  REQUIRE(batch.sizes() == expected.sizes());
  CHECK(batch.sub(expected).abs().max().item<double>() <= 1e-6);
  CHECK(batch[1].equal(processor.load(kImages / kFiles[1])));
}

TEST_CASE("size is read as {height, width} or as a bare number; other keys keep defaults") {
  ScratchDir dir;
  {
    std::ofstream(dir.path / "preprocessor_config.json") << R"({"size": {"height": 96, "width": 64}, "image_mean": 0.5,
      "image_std": [0.5, 0.25, 0.125], "do_normalize": true})";
    const ImageProcessorConfig c = ImageProcessorConfig::from_folder(dir.path);
    CHECK(c.height == 96);
    CHECK(c.width == 64);
    CHECK(c.image_mean[1] == 0.5);
    CHECK(c.image_std[2] == 0.125);
    CHECK(c.resample == 3);
    const torch::Tensor pv = ImageProcessor(c).load(kImages / kFiles[0]);
    CHECK(pv.sizes() == torch::IntArrayRef({3, 96, 64}));
  }
  {
    std::ofstream(dir.path / "preprocessor_config.json") << R"({"size": 384})";
    const ImageProcessorConfig c = ImageProcessorConfig::from_folder(dir.path);
    CHECK(c.height == 384);
    CHECK(c.width == 384);
  }
  {
    std::ofstream(dir.path / "preprocessor_config.json") << R"({"size": {"shortest_edge": 224}})";
    CHECK_THROWS_WITH_AS(ImageProcessorConfig::from_folder(dir.path), doctest::Contains("'size'"), capbench::Error);
  }
  {
    std::ofstream(dir.path / "preprocessor_config.json") << R"({"resample": 9})";
    CHECK_THROWS_WITH_AS(ImageProcessorConfig::from_folder(dir.path), doctest::Contains("resample"), capbench::Error);
  }
}

TEST_CASE("Pillow's resampler: same size is a copy, enlarging and one-axis resizes work") {
  using namespace capbench::image;
  const std::vector<uint8_t> pixels = {0, 50, 100, 150, 200, 250};  // 2x3 gray
  ImageView8 view{pixels.data(), 2, 3, 3, 1, {0}};
  CHECK(pillow_resize(view, 2, 3, PillowFilter::bicubic) == pixels);
  // Box filter halving the width averages pairs (rounded half up): (0+50)/2 -> 25.
  const std::vector<uint8_t> wide = {0, 50, 100, 150};
  ImageView8 row{wide.data(), 1, 4, 4, 1, {0}};
  CHECK(pillow_resize(row, 1, 2, PillowFilter::box) == std::vector<uint8_t>{25, 125});
  const std::vector<uint8_t> up = pillow_resize(view, 4, 6, PillowFilter::bicubic);
  CHECK(up.size() == 24);
}

TEST_CASE("BMP and lossless WebP copies of the PNG give the same pixels") {
  ScratchDir dir;
  const cv::Mat png = cv::imread((kImages / kFiles[0]).string(), cv::IMREAD_UNCHANGED);
  REQUIRE(!png.empty());
  cv::imwrite((dir.path / "copy.bmp").string(), png);
  cv::imwrite((dir.path / "copy.webp").string(), png, {cv::IMWRITE_WEBP_QUALITY, 101});
  const ImageProcessor processor = fixture_processor();
  const torch::Tensor expected = references().view("img0.resized_uint8");
  CHECK(processor.load_resized(dir.path / "copy.bmp").equal(expected));
  CHECK(processor.load_resized(dir.path / "copy.webp").equal(expected));
}

TEST_CASE("16-bit PNGs convert as PIL does: colour keeps the high byte, gray clips at 255") {
  ScratchDir dir;
  cv::Mat color(2, 2, CV_16UC3, cv::Scalar(0x1234, 0xABCD, 0x00FF));  // B, G, R
  cv::Mat gray(2, 2, CV_16UC1, cv::Scalar(0));
  gray.at<uint16_t>(0, 0) = 7;
  gray.at<uint16_t>(0, 1) = 255;
  gray.at<uint16_t>(1, 0) = 256;
  gray.at<uint16_t>(1, 1) = 60000;
  cv::imwrite((dir.path / "color16.png").string(), color);
  cv::imwrite((dir.path / "gray16.png").string(), gray);
  using capbench::image::decode_image;
  using capbench::image::to_rgb_tensor;
  const torch::Tensor c = to_rgb_tensor(decode_image(dir.path / "color16.png"));
  CHECK(c[0][0][0].item<int>() == 0x00);  // R = 0x00FF >> 8
  CHECK(c[0][0][1].item<int>() == 0xAB);
  CHECK(c[0][0][2].item<int>() == 0x12);
  const torch::Tensor g = to_rgb_tensor(decode_image(dir.path / "gray16.png")).select(2, 0);
  CHECK(g[0][0].item<int>() == 7);
  CHECK(g[0][1].item<int>() == 255);
  CHECK(g[1][0].item<int>() == 255);
  CHECK(g[1][1].item<int>() == 255);
}

TEST_CASE("EXIF orientation is not applied, as PIL.Image.open does not apply it") {
  // rgb_300x500.jpg with an APP1 Exif segment saying orientation 6 (rotate 90°).
  const std::vector<char> jpeg = read_bytes(kImages / "rgb_300x500.jpg");
  const unsigned char exif[] = {0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,
                                'I', 'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00,  // TIFF header, IFD at 8
                                0x01, 0x00,                                   // one entry
                                0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00,
                                0x00, 0x00, 0x00, 0x00};
  std::vector<char> tagged(jpeg.begin(), jpeg.begin() + 2);
  tagged.insert(tagged.end(), exif, exif + sizeof(exif));
  tagged.insert(tagged.end(), jpeg.begin() + 2, jpeg.end());
  ScratchDir dir;
  write_bytes(dir.path / "rotated.jpg", tagged.data(), tagged.size());
  // OpenCV itself would rotate it when asked to apply orientation: the tag is real.
  CHECK(cv::imread((dir.path / "rotated.jpg").string(), cv::IMREAD_COLOR).rows == 300);
  const torch::Tensor decoded = capbench::image::to_rgb_tensor(capbench::image::decode_image(dir.path / "rotated.jpg"));
  CHECK(decoded.equal(references().view("img1.decoded")));
}

TEST_CASE("bad files fail with an Error naming the file") {
  ScratchDir dir;
  const ImageProcessor processor = fixture_processor();
  auto check_fails = [&](const fs::path& file, const char* why) {
    CAPTURE(why);
    CHECK_THROWS_WITH_AS(processor.load(file), doctest::Contains(file.string().c_str()), capbench::Error);
  };
  check_fails(dir.path / "missing.png", "missing");
  write_bytes(dir.path / "empty.jpg", "", 0);
  check_fails(dir.path / "empty.jpg", "empty");
  write_bytes(dir.path / "text.png", "not an image at all", 19);
  check_fails(dir.path / "text.png", "not an image");
  for (const char* name : {"rgb_300x500.jpg", "rgb_640x480.png"}) {
    const std::vector<char> whole = read_bytes(kImages / name);
    const fs::path cut = dir.path / (std::string("cut_") + name);
    write_bytes(cut, whole.data(), whole.size() / 2);
    check_fails(cut, name);
  }
  check_fails(dir.path, "a directory");
  CHECK_THROWS_WITH_AS(processor.load_batch({kImages / kFiles[0], dir.path / "missing.png"}),
                       doctest::Contains("missing.png"), capbench::Error);
}

TEST_CASE("a 13000x13000 image costs its decoding and no full-size copies") {
  // 169 million pixels: just under the 178,956,970 that PIL opens (DecompressionBombError above).
  ScratchDir dir;
  const fs::path big = dir.path / "big.png";
  {
    cv::Mat pixels(13000, 13000, CV_8UC1, cv::Scalar(77));
    pixels(cv::Rect(0, 0, 6500, 13000)).setTo(cv::Scalar(200));
    REQUIRE(cv::imwrite(big.string(), pixels, {cv::IMWRITE_PNG_COMPRESSION, 1}));
  }
  const long before = peak_rss_kib();  // includes the 169 MB the image took to write
  const torch::Tensor pv = fixture_processor().load(big);
  const long grown_mib = (peak_rss_kib() - before) / 1024;
  MESSAGE("peak RSS grew by " << grown_mib << " MiB decoding and resizing a 169 MB image");
  CHECK(pv.sizes() == torch::IntArrayRef({3, 224, 224}));
  CHECK(grown_mib < 85);  // a float copy would be 676 MB, a second 8-bit copy 169 MB
  CHECK(pv[0][0][0].item<float>() == doctest::Approx((200 / 255.0 - 0.48145466) / 0.26862954).epsilon(1e-5));
}

TEST_CASE("an image of more pixels than PIL opens is refused from its header, before decoding") {
  ScratchDir dir;
  for (const char* name : {"rgb_640x480.png", "rgb_300x500.jpg"}) {
    CAPTURE(name);
    std::vector<char> bytes = read_bytes(kImages / name);
    // 13328 x 13429 = 178,981,712 pixels, just over PIL's 178,956,970: PNG's IHDR at
    // bytes 16..23 (width, height), the JPEG frame header's height and width.
    const unsigned char height[2] = {0x34, 0x75}, width[2] = {0x34, 0x10};
    if (bytes[1] == 'P') {
      const char ihdr[8] = {0, 0, char(width[0]), char(width[1]), 0, 0, char(height[0]), char(height[1])};
      std::copy(ihdr, ihdr + 8, bytes.begin() + 16);
    } else {
      for (size_t i = 2; i + 9 < bytes.size(); ++i)
        if (static_cast<unsigned char>(bytes[i]) == 0xFF && static_cast<unsigned char>(bytes[i + 1]) == 0xC0) {
          bytes[i + 5] = char(height[0]), bytes[i + 6] = char(height[1]), bytes[i + 7] = char(width[0]),
                    bytes[i + 8] = char(width[1]);
          break;
        }
    }
    const fs::path file = dir.path / (std::string("huge_") + name);
    write_bytes(file, bytes.data(), bytes.size());
    CHECK_THROWS_WITH_AS(fixture_processor().load(file), doctest::Contains("image is too large (178981712 pixels"),
                         capbench::ImageError);
  }
}
