#include "app/runner/output_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

#include "core/error.h"

namespace capbench {

namespace fs = std::filesystem;

namespace {

std::string owner_text() {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  char when[32] = "";
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  return "pid " + std::to_string(getpid()) + " on host " + host + " since " + when;
}

std::string read_owner(int fd) {
  char text[512] = {};
  const ssize_t n = pread(fd, text, sizeof text - 1, 0);
  std::string owner(text, n > 0 ? static_cast<size_t>(n) : 0);
  owner = owner.substr(0, owner.find('\n'));
  return owner.empty() ? "a process that has not written its id yet" : owner;
}

void write_owner(int fd, const std::string& suffix = "") {
  // A failed write (disk full) leaves the lock held; only the next message is vaguer.
  const std::string owner = owner_text() + suffix + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, owner.data(), owner.size(), 0);
}

// Creating a file is what a run must do in its output folder (database, journal, submissions).
void check_writable(const fs::path& dir) {
  const fs::path probe = dir / (".capbench-write-test-" + std::to_string(getpid()));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    throw Error(dir.string() + ": cannot write in the output folder (" + std::strerror(errno) +
                "); choose a writable output.dir");
  ::close(fd);
  ::unlink(probe.c_str());
}

int open_lock_file(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(file.string() + ": cannot open the output folder's lock file (" + std::strerror(errno) + ")");
  return fd;
}

[[noreturn]] void refuse(const fs::path& dir, const std::string& owner) {
  throw Error(dir.string() + ": the output folder is in use by another capbench run (" + owner +
              "); wait for it to finish, or give this run another output.dir (runs of distinct --shard K/N may "
              "share a folder)");
}

// The owner of a shard lock held now (other than those of `own_count` shards), or empty.
std::string held_shard_owner(const fs::path& dir, int64_t own_count = 0) {
  const std::string own_suffix = "-of-" + std::to_string(own_count) + ".lock";
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".capbench-run-shard-", 0) != 0) continue;
    if (name.size() > own_suffix.size() && name.compare(name.size() - own_suffix.size(), own_suffix.size(), own_suffix) == 0)
      continue;
    const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
    const std::string owner = held ? read_owner(fd) : "";
    ::close(fd);
    if (held) return owner;
  }
  return "";
}

}  // namespace

fs::path OutputLock::shard_file(const fs::path& dir, int64_t index, int64_t count) {
  return dir / (".capbench-run-shard-" + std::to_string(index) + "-of-" + std::to_string(count) + ".lock");
}

OutputLock::OutputLock(const fs::path& dir, int64_t shard_index, int64_t shard_count) {
  check_writable(dir);
  const bool sharded = shard_count > 1;
  folder_fd_ = open_lock_file(folder_file(dir));
  if (::flock(folder_fd_, (sharded ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    const int error = errno;
    std::string owner = error == EWOULDBLOCK ? held_shard_owner(dir) : "";
    if (owner.empty()) owner = read_owner(folder_fd_);
    ::close(folder_fd_);
    folder_fd_ = -1;
    if (error == EWOULDBLOCK) refuse(dir, owner);
    throw Error(folder_file(dir).string() + ": cannot lock the output folder (" + std::strerror(error) + ")");
  }
  if (!sharded) {
    write_owner(folder_fd_);
    return;
  }
  shard_fd_ = open_lock_file(shard_file(dir, shard_index, shard_count));
  if (::flock(shard_fd_, LOCK_EX | LOCK_NB) != 0) {
    const std::string owner = read_owner(shard_fd_);
    ::close(shard_fd_);
    ::close(folder_fd_);
    shard_fd_ = folder_fd_ = -1;
    refuse(dir, owner);
  }
  write_owner(shard_fd_, ", shard " + std::to_string(shard_index) + "/" + std::to_string(shard_count));
  // Shards of another count overlap this one's images.
  const std::string other = held_shard_owner(dir, shard_count);
  if (!other.empty()) {
    ::close(shard_fd_);
    ::close(folder_fd_);
    shard_fd_ = folder_fd_ = -1;
    refuse(dir, other);
  }
}

OutputLock::~OutputLock() {
  // Closing releases the locks.
  if (shard_fd_ >= 0) ::close(shard_fd_);
  if (folder_fd_ >= 0) ::close(folder_fd_);
}

}  // namespace capbench
