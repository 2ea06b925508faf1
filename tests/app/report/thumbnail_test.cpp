#include "app/report/thumbnail.h"

#include <doctest/doctest.h>

#include <boost/archive/iterators/binary_from_base64.hpp>
#include <boost/archive/iterators/transform_width.hpp>
#include <opencv2/imgcodecs.hpp>

#include "tests/test_support.h"

using namespace capbench::report;
using capbench::testing::source_dir;

namespace {

cv::Mat decode_data_uri(const std::string& uri) {
  const std::string prefix = "data:image/jpeg;base64,";
  REQUIRE(uri.rfind(prefix, 0) == 0);
  std::string text = uri.substr(prefix.size());
  while (!text.empty() && text.back() == '=') text.pop_back();
  using namespace boost::archive::iterators;
  using Decoder = transform_width<binary_from_base64<std::string::const_iterator>, 8, 6>;
  std::vector<uint8_t> bytes(Decoder(text.begin()), Decoder(text.end()));
  return cv::imdecode(bytes, cv::IMREAD_COLOR);
}

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("base64 gives RFC 4648's test vectors") {
  CHECK(base64(bytes_of("")) == "");
  CHECK(base64(bytes_of("f")) == "Zg==");
  CHECK(base64(bytes_of("fo")) == "Zm8=");
  CHECK(base64(bytes_of("foo")) == "Zm9v");
  CHECK(base64(bytes_of("foob")) == "Zm9vYg==");
  CHECK(base64(bytes_of("fooba")) == "Zm9vYmE=");
  CHECK(base64(bytes_of("foobar")) == "Zm9vYmFy");
  CHECK(base64({0xff, 0xfe, 0x00}) == "//4A");
}

TEST_CASE("a thumbnail is a JPEG whose longest side is 256 pixels, in proportion") {
  for (const char* name : {"astronaut.png", "rocket.jpg"}) {
    const auto file = source_dir() / "experiments/demo/images" / name;
    const cv::Mat original = cv::imread(file.string());
    REQUIRE_FALSE(original.empty());
    auto thumbnail = make_thumbnail(file);
    REQUIRE(thumbnail.has_value());
    CHECK(std::max(thumbnail->width, thumbnail->height) == 256);
    CHECK(thumbnail->width * original.rows == doctest::Approx(thumbnail->height * original.cols).epsilon(0.01));
    const cv::Mat decoded = decode_data_uri(thumbnail->data_uri);
    CHECK(decoded.cols == thumbnail->width);
    CHECK(decoded.rows == thumbnail->height);
  }
}

TEST_CASE("a small image keeps its size; a missing or broken file gives no thumbnail") {
  capbench::testing::TempDir dir;
  cv::imwrite((dir / "small.png").string(), cv::Mat(20, 30, CV_8UC3, cv::Scalar(10, 200, 30)));
  auto small = make_thumbnail(dir / "small.png");
  REQUIRE(small.has_value());
  CHECK(small->width == 30);
  CHECK(small->height == 20);
  CHECK_FALSE(make_thumbnail(dir / "absent.png").has_value());
  capbench::testing::write_text(dir / "text.png", "not an image");
  CHECK_FALSE(make_thumbnail(dir / "text.png").has_value());
}
