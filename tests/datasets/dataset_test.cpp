// sdip, coco and folder datasets, their ordering options, and every kind of bad
// data reported with file and line (on_error = "fail" throws the first problem,
// "skip" lists them all).
#include "datasets/dataset.h"

#include <doctest/doctest.h>
#include <toml++/toml.h>

#include <fstream>

#include "core/error.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using capbench::Dataset;
using capbench::Settings;

namespace {

using capbench::testing::TempDir;

void write_file(const fs::path& file, const std::string& bytes) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << bytes;
}

// Empty stand-ins: datasets list image files, they never decode them.
void touch_images(const fs::path& folder, const std::vector<std::string>& names) {
  for (const auto& name : names) write_file(folder / name, "");
}

Dataset load(const toml::table& table, const fs::path& base, bool check_keys = true) {
  Settings settings(table, "[dataset]");
  Dataset dataset = capbench::load_dataset(settings, base);
  if (check_keys) settings.check_all_used();
  return dataset;
}

std::vector<std::string> ids_of(const Dataset& d) {
  std::vector<std::string> ids;
  for (const auto& item : d.items) ids.push_back(item.id);
  return ids;
}

std::string skipped_text(const Dataset& d) {
  std::string all;
  for (const auto& s : d.skipped) all += s.where + ": " + s.message + "\n";
  return all;
}

}  // namespace

TEST_CASE("sdip: prompts with commas, quotes and line breaks, sorted by id") {
  TempDir dir;
  touch_images(dir.path() / "data/images", {"b2.png", "a1.png", "c3.png"});
  write_file(dir.path() / "data/prompts.csv",
             "imgId,prompt\nc3,\"a cat, sitting\"\nb2,\"say \"\"cheese\"\"\"\na1,\"two\nlines\"\n");
  Dataset d = load(toml::table{{"kind", "sdip"}, {"root", "data"}}, dir.path());
  REQUIRE(d.items.size() == 3);
  CHECK(ids_of(d) == std::vector<std::string>{"a1", "b2", "c3"});
  CHECK(d.items[0].references == std::vector<std::string>{"two\nlines"});
  CHECK(d.items[1].references == std::vector<std::string>{"say \"cheese\""});
  CHECK(d.items[2].references == std::vector<std::string>{"a cat, sitting"});
  CHECK(d.items[2].image == dir.path() / "data/images/c3.png");
  CHECK(d.skipped.empty());
}

TEST_CASE("sdip: columns in any order, limit, shuffle with a seed") {
  TempDir dir;
  std::string csv = "prompt,imgId\n";
  std::vector<std::string> images;
  for (int i = 0; i < 20; ++i) {
    std::string id = "img" + std::to_string(100 + i);
    csv += "prompt " + std::to_string(i) + "," + id + "\n";
    images.push_back(id + ".png");
  }
  touch_images(dir.path() / "images", images);
  write_file(dir.path() / "prompts.csv", csv);
  Dataset all = load(toml::table{{"kind", "sdip"}, {"root", "."}}, dir.path());
  CHECK(all.items.size() == 20);
  CHECK(all.items[3].references[0] == "prompt 3");
  Dataset limited = load(toml::table{{"kind", "sdip"}, {"root", "."}, {"limit", 5}}, dir.path());
  CHECK(ids_of(limited) == std::vector<std::string>{"img100", "img101", "img102", "img103", "img104"});
  Dataset s1 = load(toml::table{{"kind", "sdip"}, {"root", "."}, {"shuffle", true}, {"seed", 7}, {"limit", 5}}, dir.path());
  Dataset s2 = load(toml::table{{"kind", "sdip"}, {"root", "."}, {"shuffle", true}, {"seed", 7}, {"limit", 5}}, dir.path());
  Dataset s3 = load(toml::table{{"kind", "sdip"}, {"root", "."}, {"shuffle", true}, {"seed", 8}, {"limit", 5}}, dir.path());
  CHECK(ids_of(s1) == ids_of(s2));
  CHECK(ids_of(s1) != ids_of(s3));
  CHECK(ids_of(s1) != ids_of(limited));
}

TEST_CASE("sdip: each kind of bad data is reported with its file and line") {
  TempDir dir;
  touch_images(dir.path() / "images", {"ok.png", "dup.png", "empty.png", "latin.png", "orphan.png"});
  write_file(dir.path() / "prompts.csv",
             "imgId,prompt\n"
             "ok,fine\n"              // line 2
             "missing,no image\n"     // line 3
             "dup,first\n"            // line 4
             "dup,second\n"           // line 5
             "empty,\"  \"\n"         // line 6
             "latin,caf\xE9\n"        // line 7
             "../escape,up\n"         // line 8
             "/etc/passwd,abs\n"      // line 9
             "too,many,fields\n");    // line 10
  const std::string csv = (dir.path() / "prompts.csv").string();

  SUBCASE("fail: the first problem throws") {
    CHECK_THROWS_WITH_AS(load(toml::table{{"kind", "sdip"}, {"root", "."}}, dir.path()),
                         doctest::Contains((csv + ":3: imgId 'missing' has no image").c_str()), capbench::Error);
  }
  SUBCASE("skip: every problem is listed, the good items kept") {
    Dataset d = load(toml::table{{"kind", "sdip"}, {"root", "."}, {"on_error", "skip"}}, dir.path());
    CHECK(ids_of(d) == std::vector<std::string>{"dup", "ok"});
    CHECK(d.items[0].references[0] == "first");
    const std::string text = skipped_text(d);
    INFO(text);
    REQUIRE(d.skipped.size() == 9);
    CHECK(d.skipped[0].where == csv + ":3");
    CHECK(d.skipped[1].where == csv + ":5");
    CHECK(d.skipped[1].message.find("duplicate imgId 'dup' (first on line 4)") != std::string::npos);
    CHECK(d.skipped[2].where == csv + ":6");
    CHECK(d.skipped[2].message.find("empty prompt") != std::string::npos);
    CHECK(d.skipped[3].where == csv + ":7");
    CHECK(d.skipped[3].message.find("UTF-8") != std::string::npos);
    CHECK(d.skipped[4].where == csv + ":8");
    CHECK(d.skipped[4].message.find("leaves the image folder") != std::string::npos);
    CHECK(d.skipped[5].where == csv + ":9");
    CHECK(d.skipped[5].message.find("absolute") != std::string::npos);
    CHECK(d.skipped[6].where == csv + ":10");
    CHECK(d.skipped[6].message.find("3 fields") != std::string::npos);
    // latin.png's row was unreadable, so it is an image without a row; orphan.png never had one.
    CHECK(d.skipped[7].where == (dir.path() / "images/latin.png").string());
    CHECK(d.skipped[8].where == (dir.path() / "images/orphan.png").string());
    CHECK(d.skipped[8].message.find("image has no row") != std::string::npos);
  }
}

TEST_CASE("dataset settings: unknown keys reach the caller, bad values are errors") {
  TempDir dir;
  touch_images(dir.path() / "images", {"a.png"});
  write_file(dir.path() / "prompts.csv", "imgId,prompt\na,x\n");
  Settings settings(toml::table{{"kind", "sdip"}, {"root", "."}, {"limt", 3}}, "[dataset]");
  capbench::load_dataset(settings, dir.path());
  CHECK_THROWS_WITH_AS(settings.check_all_used(), doctest::Contains("limt"), capbench::Error);
  CHECK_THROWS_WITH_AS(load(toml::table{{"kind", "sdip"}, {"root", "."}, {"on_error", "ignore"}}, dir.path()),
                       doctest::Contains("on_error"), capbench::Error);
  CHECK_THROWS_WITH_AS(load(toml::table{{"kind", "webdataset"}}, dir.path()), doctest::Contains("unknown dataset kind"),
                       capbench::Error);
  CHECK_THROWS_WITH_AS(load(toml::table{{"kind", "sdip"}, {"root", "."}, {"limit", -1}}, dir.path()),
                       doctest::Contains("limit"), capbench::Error);
  CHECK(load(toml::table{{"kind", "sdip"}, {"root", "."}, {"limit", 0}}, dir.path()).items.size() == 1);  // 0: every item
  CHECK_THROWS_WITH_AS(load(toml::table{{"kind", "sdip"}, {"root", "nowhere"}}, dir.path()),
                       doctest::Contains("not found"), capbench::Error);
}

TEST_CASE("coco: several captions per image, numeric id order, bad entries reported") {
  TempDir dir;
  touch_images(dir.path() / "val", {"10.jpg", "9.jpg", "nocap.jpg"});
  write_file(dir.path() / "captions.json", R"({
    "images": [{"id": 10, "file_name": "10.jpg"}, {"id": 9, "file_name": "9.jpg"},
               {"id": 11, "file_name": "nocap.jpg"}, {"id": 12, "file_name": "../../outside.jpg"},
               {"id": 9, "file_name": "9.jpg"}, {"id": 13, "file_name": "absent.jpg"}],
    "annotations": [{"image_id": 10, "caption": "a dog"}, {"image_id": 9, "caption": "a cat"},
                    {"image_id": 10, "caption": "a brown dog"}, {"image_id": 99, "caption": "lost"},
                    {"image_id": 9, "caption": ""}]})");
  toml::table table{{"kind", "coco"}, {"annotations", "captions.json"}, {"images", "val"}};
  const std::string json = (dir.path() / "captions.json").string();
  CHECK_THROWS_WITH_AS(load(table, dir.path()), doctest::Contains((json + ": images[3]: file_name '../../outside.jpg' leaves").c_str()),
                       capbench::Error);
  table.insert_or_assign("on_error", "skip");
  Dataset d = load(table, dir.path());
  CHECK(ids_of(d) == std::vector<std::string>{"9", "10"});
  CHECK(d.items[1].references == std::vector<std::string>{"a dog", "a brown dog"});
  CHECK(d.items[0].references == std::vector<std::string>{"a cat"});
  const std::string text = skipped_text(d);
  INFO(text);
  CHECK(d.skipped.size() == 6);
  CHECK(text.find("images[4]: duplicate image id 9") != std::string::npos);
  CHECK(text.find("annotations[3]: image_id 99 is not in images[]") != std::string::npos);
  CHECK(text.find("annotations[4]: empty or missing caption") != std::string::npos);
  CHECK(text.find("images[2]: image 11 has no caption") != std::string::npos);
  CHECK(text.find("images[5]: image 13 has no file") != std::string::npos);
}

TEST_CASE("folder: images only, ids are file stems") {
  TempDir dir;
  touch_images(dir.path() / "pics", {"b.PNG", "a.jpg", "notes.txt", "a.png"});
  Dataset d = load(toml::table{{"kind", "folder"}, {"root", "pics"}, {"on_error", "skip"}}, dir.path());
  CHECK(ids_of(d) == std::vector<std::string>{"a", "b"});
  CHECK(d.items[0].references.empty());
  REQUIRE(d.skipped.size() == 1);
  CHECK(d.skipped[0].message.find("duplicate id 'a'") != std::string::npos);
}
