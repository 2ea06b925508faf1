#pragma once
// The one error type that crosses every boundary of capbench (plugins included).
// Its message is written for the user: it names the file, key or tensor at fault
// and, where there is one, what to do about it.
#include <stdexcept>
#include <string>

namespace capbench {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A mistake in how capbench was invoked (bad flag, missing argument): exit code 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message) {}
};

}  // namespace capbench
