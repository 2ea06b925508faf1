#include "app/progress.h"

#include <cstdio>
#include <unistd.h>

namespace capbench {

namespace {

std::string duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "--:--";
  auto s = static_cast<int64_t>(seconds + 0.5);
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else
    std::snprintf(text, sizeof text, "%02lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return text;
}

}  // namespace

Progress::Progress(std::ostream& out, int64_t total_work, int64_t total_runs, bool bar, double line_every)
    : out_(out), total_work_(total_work), total_runs_(total_runs), bar_(bar), line_every_(line_every),
      start_(std::chrono::steady_clock::now()), last_print_(start_) {}

bool Progress::stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

std::string Progress::line() const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = elapsed > 0 ? work_done_ / elapsed : 0;
  double eta = rate > 0 ? (total_work_ - work_done_) / rate : -1;
  char text[160];
  std::snprintf(text, sizeof text, "%lld/%lld images x runs, runs done %lld/%lld, %.2f images/s, elapsed %s, ETA %s",
                static_cast<long long>(work_done_), static_cast<long long>(total_work_),
                static_cast<long long>(runs_done_), static_cast<long long>(total_runs_), rate, duration(elapsed).c_str(),
                duration(eta).c_str());
  if (!bar_) return text;
  const int width = 24;
  int filled = total_work_ > 0 ? static_cast<int>(width * work_done_ / total_work_) : width;
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] " + text;
}

void Progress::update(int64_t work_done, int64_t runs_done) {
  work_done_ = work_done;
  runs_done_ = runs_done;
  auto now = std::chrono::steady_clock::now();
  if (bar_) {
    out_ << "\r" << line() << "\033[K" << std::flush;
  } else if (std::chrono::duration<double>(now - last_print_).count() >= line_every_) {
    out_ << line() << "\n" << std::flush;
    last_print_ = now;
  }
}

void Progress::finish() {
  if (bar_)
    out_ << "\r" << line() << "\033[K\n" << std::flush;
  else
    out_ << line() << "\n" << std::flush;
}

}  // namespace capbench
