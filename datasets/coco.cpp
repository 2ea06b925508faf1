// COCO captions: a JSON file with images[] (id, file_name) and annotations[]
// (image_id, caption), several captions per image; the images in one folder.
#include <map>

#include "core/error.h"
#include "core/json_file.h"
#include "datasets/dataset_problems.h"

namespace capbench {

namespace fs = std::filesystem;

namespace {

// COCO ids are integers; other exports use strings. Empty when neither.
std::string id_text(const nlohmann::json& value) {
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  if (value.is_string()) return value.get<std::string>();
  return "";
}

const nlohmann::json& array_of(const nlohmann::json& document, const char* key, const fs::path& file) {
  if (!document.is_object() || !document.contains(key) || !document[key].is_array())
    throw Error(file.string() + ": expected a COCO captions file with an array '" + key + "'");
  return document[key];
}

struct CocoImage {
  std::string id;
  fs::path file;
  std::string where;
  std::vector<std::string> captions;
};

}  // namespace

std::vector<DatasetItem> read_coco(Settings& table, const fs::path& base_dir, DataProblems& problems) {
  const fs::path root = resolve_path(base_dir, table.get_string("root", "."));
  std::optional<std::string> annotations_key = table.get_string("annotations");
  std::optional<std::string> images_key = table.get_string("images");
  if (!annotations_key || !images_key)
    throw Error(table.where() + ": a coco dataset needs `annotations` (the captions JSON file) and `images` (their folder)");
  const fs::path file = resolve_path(root, *annotations_key);
  const fs::path image_dir = resolve_path(root, *images_key);
  const nlohmann::json document = read_json_file(file);
  const nlohmann::json& images = array_of(document, "images", file);
  const nlohmann::json& annotations = array_of(document, "annotations", file);

  std::vector<CocoImage> listed;
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < images.size(); ++i) {
    const nlohmann::json& image = images[i];
    const std::string where = file.string() + ": images[" + std::to_string(i) + "]";
    std::string id = image.is_object() && image.contains("id") ? id_text(image["id"]) : "";
    if (id.empty()) {
      problems.report(where, "no integer or string 'id'");
      continue;
    }
    if (!image.contains("file_name") || !image["file_name"].is_string()) {
      problems.report(where, "image " + id + " has no 'file_name'");
      continue;
    }
    const std::string name = image["file_name"].get<std::string>();
    if (std::string escape = escapes_folder(name); !escape.empty()) {
      problems.report(where, "file_name '" + name + "' " + escape + " (it would name a file outside " +
                                 image_dir.string() + ")");
      continue;
    }
    if (auto [it, added] = index_of.emplace(id, listed.size()); !added) {
      problems.report(where, "duplicate image id " + id + " (first at " + listed[it->second].where + ")");
      continue;
    }
    listed.push_back({id, image_dir / name, where, {}});
  }
  for (size_t a = 0; a < annotations.size(); ++a) {
    const nlohmann::json& annotation = annotations[a];
    const std::string where = file.string() + ": annotations[" + std::to_string(a) + "]";
    std::string id = annotation.is_object() && annotation.contains("image_id") ? id_text(annotation["image_id"]) : "";
    auto image = index_of.find(id);
    if (image == index_of.end()) {
      problems.report(where, id.empty() ? "no 'image_id'" : "image_id " + id + " is not in images[]");
      continue;
    }
    const nlohmann::json* caption = annotation.contains("caption") ? &annotation["caption"] : nullptr;
    if (!caption || !caption->is_string() || caption->get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos) {
      problems.report(where, "empty or missing caption for image " + id);
      continue;
    }
    listed[image->second].captions.push_back(caption->get<std::string>());
  }

  std::vector<DatasetItem> items;
  for (CocoImage& image : listed) {
    std::error_code ec;
    if (!fs::is_regular_file(image.file, ec)) {
      problems.report(image.where, "image " + image.id + " has no file " + image.file.string());
      continue;
    }
    if (image.captions.empty()) {
      problems.report(image.where, "image " + image.id + " has no caption in annotations[]");
      continue;
    }
    items.push_back({image.id, image.file, std::move(image.captions)});
  }
  return items;
}

}  // namespace capbench
