#include "datasets/dataset_problems.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace capbench {

namespace fs = std::filesystem;

void DataProblems::report(const std::string& where, const std::string& message) {
  if (!skip_) throw Error(where + ": " + message + " (set on_error = \"skip\" to leave such items out)");
  skipped_.push_back({where, message});
}

std::string file_line(const fs::path& file, int64_t line) { return file.string() + ":" + std::to_string(line); }

std::vector<fs::path> image_files_in(const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw Error(folder.string() + ": image folder not found");
  static const std::vector<std::string> extensions = {".png", ".jpg", ".jpeg", ".webp", ".bmp"};
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    std::string extension = entry.path().extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (std::find(extensions.begin(), extensions.end(), extension) != extensions.end()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string escapes_folder(const std::string& relative) {
  if (relative.find('\0') != std::string::npos) return "contains a NUL byte";
  fs::path path(relative);
  if (path.is_absolute() || path.has_root_name() || path.has_root_directory() || relative.rfind('\\', 0) == 0)
    return "is an absolute path";
  int depth = 0;
  for (const fs::path& part : path) {
    std::string name = part.string();
    if (name == "..") --depth;
    else if (!name.empty() && name != ".") ++depth;
    if (depth < 0) return "leaves the image folder";
  }
  if (depth == 0) return "names no file";
  return "";
}

fs::path resolve_path(const fs::path& base, const std::string& path) {
  fs::path p(path);
  return (p.is_absolute() ? p : base / p).lexically_normal();
}

}  // namespace capbench
