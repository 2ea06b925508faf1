#pragma once
// An image file that cannot become pixel values (missing, empty, damaged, too
// large, of a format or size the processor cannot use). It names the file, so
// that a sweep can leave that one image out and caption the rest.
#include <filesystem>
#include <string>

#include "core/error.h"

namespace capbench {

class ImageError : public Error {
 public:
  ImageError(const std::filesystem::path& file, const std::string& problem)
      : Error(file.string() + ": " + problem), file_(file), problem_(problem) {}
  const std::filesystem::path& file() const { return file_; }
  const std::string& problem() const { return problem_; }  // the message without the file name

 private:
  std::filesystem::path file_;
  std::string problem_;
};

}  // namespace capbench
