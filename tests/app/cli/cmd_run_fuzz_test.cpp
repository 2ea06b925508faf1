// Mutation fuzzing of what `capbench run` reads from a user, bounded in time so
// that it runs with every test: experiment TOML files, Kaggle prompts CSV files
// and image files (PNG, JPEG). Each mutation must load (or caption) or end in
// one capbench::Error with a one-line message -- never a crash, a hang, another
// exception, or a damaged results database. Seeds are fixed: a failure names
// the iteration and the mutated input, and reproduces.
#include <doctest/doctest.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "app/cli/experiment_cli.h"
#include "core/image/image_error.h"
#include "core/image_processor.h"
#include "tests/app/cli/sweep_fixture.h"

using namespace capbench;
using namespace capbench::testing;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// Pieces that push each format into its parser's corners.
const std::vector<std::string> kTomlTokens = {
    "=", "[", "]", "{", "}", "\"", "'", ",", ".", "\n", "#", "0", "-1", "1e400", "nan", "inf", "true", "\"\"", "\"\"\"",
    "[[variant]]", "[sweep]", "[generate]", "extends = \"exp.toml\"", "\"generate.num_beams\" = [1, 3]",
    "\"model.checkpoint\"", "num_beams", "max_new_tokens", "on_error", "limit = -5", "1979-05-27T07:32:00Z",
    "\\u0000", "\xff\xfe", "\xc3", "9223372036854775808", "name = \"x\"", "kind = \"coco\"", "dtype = \"fp8\""};
const std::vector<std::string> kCsvTokens = {",", "\"", "\"\"", "\n", "\r\n", "\r", "imgId", "prompt", "img1", "img2",
                                             "../", "/", "\\", "\xff\xfe", "\xc3", "\0", ",,,", "\"a,b\""};

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : random_(seed) {}

  std::string mutate(std::string text, const std::vector<std::string>& tokens) {
    const int rounds = 1 + static_cast<int>(pick(4));
    for (int r = 0; r < rounds && !text.empty(); ++r) {
      const size_t at = pick(text.size());
      switch (pick(6)) {
        case 0: text[at] = static_cast<char>(pick(256)); break;
        case 1: text[at] = static_cast<char>(text[at] ^ (1 << pick(8))); break;
        case 2: text.erase(at, 1 + pick(8)); break;
        case 3: text.insert(at, tokens.empty() ? std::string(1, static_cast<char>(pick(256))) : tokens[pick(tokens.size())]); break;
        case 4: text.resize(pick(text.size() + 1)); break;
        case 5: {  // a slice repeated
          const size_t length = std::min<size_t>(1 + pick(64), text.size() - at);
          text.insert(pick(text.size()), text.substr(at, length));
          break;
        }
      }
    }
    return text;
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(random_); }
  std::mt19937 random_;
};

std::string as_text(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }
std::vector<uint8_t> as_bytes(const std::string& text) { return std::vector<uint8_t>(text.begin(), text.end()); }

// A failure must be one capbench::Error of one line; anything else fails the test.
template <class F>
void expect_clean(F&& attempt, const std::string& input) {
  try {
    attempt();
  } catch (const Error& e) {
    const std::string message = e.what();
    CAPTURE(input);
    CHECK_FALSE(message.empty());
    CHECK(message.find('\n') == std::string::npos);
  } catch (const std::exception& e) {
    FAIL_CHECK("not a capbench::Error: " << e.what() << "\ninput:\n" << input);
  } catch (...) {
    FAIL_CHECK("an exception that is not a std::exception\ninput:\n" << input);
  }
}

// Aborts the test binary when one step takes longer than `limit`: a hang fails loudly.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit) : limit_(limit), thread_([this] { watch(); }) {}
  ~Watchdog() {
    done_ = true;
    thread_.join();
  }
  void step(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex_);
    what_ = what;
    started_ = Clock::now();
  }

 private:
  void watch() {
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::lock_guard<std::mutex> lock(mutex_);
      if (!what_.empty() && Clock::now() - started_ > limit_) {
        std::fprintf(stderr, "fuzz step hangs: %s\n", what_.c_str());
        std::abort();
      }
    }
  }
  std::chrono::seconds limit_;
  std::atomic<bool> done_{false};
  std::mutex mutex_;
  std::string what_;
  Clock::time_point started_;
  std::thread thread_;
};

std::string integrity(const fs::path& db) {
  sqlite3* handle = nullptr;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return "cannot open";
  sqlite3_stmt* statement = nullptr;
  std::string result = "cannot check";
  if (sqlite3_prepare_v2(handle, "PRAGMA integrity_check", -1, &statement, nullptr) == SQLITE_OK &&
      sqlite3_step(statement) == SQLITE_ROW)
    result = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
  sqlite3_finalize(statement);
  sqlite3_close(handle);
  return result;
}

}  // namespace

TEST_CASE("fuzz: mutated experiment files load or fail with one clear error") {
  const SweepFixture sweep;
  const std::string original = read_text(sweep.experiment());
  Watchdog watchdog(std::chrono::seconds(20));
  const auto end = Clock::now() + std::chrono::milliseconds(1500);
  int iterations = 0;
  for (uint32_t seed = 1; seed <= 3000 && Clock::now() < end; ++seed, ++iterations) {
    const std::string text = Mutator(seed).mutate(original, kTomlTokens);
    write_text(sweep.experiment(), text);
    watchdog.step("experiment seed " + std::to_string(seed));
    expect_clean([&] { cli::load_experiment_dataset(cli::load_cli_experiment(sweep.experiment())); },
                 "seed " + std::to_string(seed) + ":\n" + text);
  }
  MESSAGE(iterations << " experiment files");
  CHECK(iterations >= 50);
}

TEST_CASE("fuzz: mutated prompts CSV files load or fail with one clear error, under skip and fail") {
  const SweepFixture sweep(6);
  const std::string original = read_text(sweep.prompts());
  const std::string skip_toml = read_text(sweep.experiment());
  std::string fail_toml = skip_toml;
  fail_toml.replace(fail_toml.find("on_error = \"skip\""), 17, "on_error = \"fail\"");
  Watchdog watchdog(std::chrono::seconds(20));
  const auto end = Clock::now() + std::chrono::milliseconds(1500);
  int iterations = 0;
  for (uint32_t seed = 1; seed <= 3000 && Clock::now() < end; ++seed, ++iterations) {
    const std::string text = Mutator(seed).mutate(original, kCsvTokens);
    write_text(sweep.prompts(), text);
    write_text(sweep.experiment(), seed % 2 ? skip_toml : fail_toml);
    watchdog.step("prompts seed " + std::to_string(seed));
    expect_clean(
        [&] {
          const Dataset d = cli::load_experiment_dataset(cli::load_cli_experiment(sweep.experiment()));
          for (const DatasetItem& item : d.items) CHECK(fs::exists(item.image));
        },
        "seed " + std::to_string(seed) + ":\n" + text);
  }
  MESSAGE(iterations << " prompts files");
  CHECK(iterations >= 50);
}

TEST_CASE("fuzz: mutated PNG and JPEG files decode to pixel values or fail with an ImageError naming the file") {
  const ImageProcessor processor(ImageProcessorConfig::from_folder(fixture("blip2-opt-tiny")));
  TempDir dir;
  Watchdog watchdog(std::chrono::seconds(20));
  const auto end = Clock::now() + std::chrono::milliseconds(2500);
  int iterations = 0, decoded = 0;
  for (uint32_t seed = 1; seed <= 3000 && Clock::now() < end; ++seed, ++iterations) {
    const std::string source = seed % 2 ? "images/rgb_300x500.jpg" : "images/rgba_180x120.png";
    const fs::path file = dir / (seed % 2 ? "x.jpg" : "x.png");
    const std::string bytes = Mutator(seed).mutate(as_text(read_bytes(fixture(source))), {});
    write_bytes(file, as_bytes(bytes));
    watchdog.step("image seed " + std::to_string(seed));
    try {
      const at::Tensor pixels = processor.load(file);
      CHECK(pixels.sizes() == at::IntArrayRef({3, 224, 224}));
      CHECK(pixels.isfinite().all().item<bool>());
      ++decoded;
    } catch (const ImageError& e) {
      CHECK(e.file() == file);
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
    } catch (const std::exception& e) {
      FAIL_CHECK("seed " << seed << " (" << source << "): not an ImageError: " << e.what());
    }
  }
  MESSAGE(iterations << " image files, " << decoded << " decoded");
  CHECK(iterations >= 50);
}

TEST_CASE("fuzz: capbench run over mutated prompts and images completes or ends with one error line; the database stays whole") {
  const SweepFixture sweep(2);
  // One quick run per call: greedy, three tokens.
  const fs::path experiment = sweep.dir() / "fuzz.toml";
  std::string toml = read_text(sweep.experiment());
  toml = toml.substr(0, toml.find("[sweep]"));
  toml.replace(toml.find("max_new_tokens = 12"), 19, "max_new_tokens = 3");
  write_text(experiment, toml);
  const std::string prompts = read_text(sweep.prompts());
  const fs::path image = sweep.images() / "img3.png";
  const std::string image_bytes = as_text(read_bytes(image));
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    CAPTURE(seed);
    Mutator mutator(seed);
    write_text(sweep.prompts(), seed % 2 ? mutator.mutate(prompts, kCsvTokens) : prompts);
    write_bytes(image, as_bytes(seed % 2 ? image_bytes : mutator.mutate(image_bytes, {})));
    CliProcess process({"run", experiment.string()});
    for (int i = 0; i < 6000 && !process.ended(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE_MESSAGE(process.ended(), "capbench run did not finish in 60 s (seed " << seed << ")");
    const CliResult r = process.wait();
    CAPTURE(r.err);
    CHECK(r.signal == 0);
    CHECK((r.status == 0 || r.status == 1));
    if (r.status == 1) check_last_line_error(r, "");
    const fs::path db = sweep.output() / "results.sqlite";
    if (fs::exists(db)) CHECK(integrity(db) == "ok");
  }
}
