#pragma once
// The results of an experiment: one SQLite database (WAL journal) in the output
// folder. Everything a run produces is written in transactions, one per image
// batch, so a process killed at any moment leaves only whole batches behind and
// the next `capbench run` continues from them.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

struct sqlite3;

namespace capbench {

struct StoredRun {
  std::string id;
  int64_t position = 0;        // order of the run in its experiment
  std::string label;           // readable differing settings
  std::string variant;
  std::string settings_json;   // canonical resolved settings
  std::string differing_json;  // {"generate.num_beams": 3, ...}
};

struct StoredImage {
  std::string id;
  std::string path;
  std::vector<std::string> references;  // ground truth; empty when the dataset has none
};

struct StoredPrediction {
  std::string run, image;
  int64_t rank = 0;  // 0 = the best caption (the one scored)
  std::string caption;
  std::vector<int64_t> ids;
  double score = 0;    // the search's own score of the caption
  double seconds = 0;  // this run's share of the compute time of the image
};

struct StoredScore {
  std::string run, image, metric;
  double value = 0;
};

struct StoredRunMetric {
  std::string run, metric;
  double value = 0;
  int64_t images = 0;  // images the value was computed over
};

struct StoredSkip {
  std::string where, message;
  // Set for an image of the dataset that failed later (decoding, preprocessing):
  // its id, and its file's size and modification time then (it is retried once
  // they change). Empty for items the dataset reader left out.
  std::string image, stamp;
};

class ResultsStore {
 public:
  // Opens (creating when absent) the database; the folder must exist.
  explicit ResultsStore(const std::filesystem::path& file);
  ~ResultsStore();
  ResultsStore(const ResultsStore&) = delete;
  ResultsStore& operator=(const ResultsStore&) = delete;

  // Every write between begin() and commit() lands together or not at all.
  void begin();
  void commit();
  void rollback();

  void set_meta(const std::string& key, const std::string& value);
  std::optional<std::string> meta(const std::string& key) const;

  // Adds a run; a run already stored must have the same settings.
  void put_run(const StoredRun& run);
  void put_image(const StoredImage& image);  // ignored when already stored
  void put_prediction(const StoredPrediction& prediction);
  void put_score(const StoredScore& score);  // replaces an earlier value
  void put_run_metric(const StoredRunMetric& metric);
  void clear_run_metrics(const std::string& run);
  void put_skip(const StoredSkip& skip);
  // Records that image `skip.image` cannot be captioned and removes it (and any
  // caption or score of it) from the sweep, so runs complete without it.
  void skip_image(const StoredSkip& skip);
  void unskip_image(const std::string& image);  // forgets an earlier skip_image

  std::vector<StoredRun> runs() const;  // by position, then id
  std::vector<StoredImage> images() const;  // by id
  std::set<std::string> images_done(const std::string& run) const;  // with a rank-0 prediction
  std::vector<StoredPrediction> predictions(const std::string& run = "") const;  // by run, image, rank
  std::vector<StoredScore> scores(const std::string& run = "") const;  // by run, image, metric
  std::vector<StoredRunMetric> run_metrics(const std::string& run = "") const;  // by run, metric
  std::vector<StoredSkip> skipped() const;  // by place, then message

  // Copies every row of another results database into this one (runs must agree;
  // rows already present are kept). Used by `capbench merge`.
  void merge_from(const std::filesystem::path& other);

  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  sqlite3* db_ = nullptr;
  void exec(const std::string& sql) const;
  void upgrade_schema();
};

}  // namespace capbench
