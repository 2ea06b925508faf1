#pragma once
// Messages between the ranks of a distributed run. Every rank talks to rank 0
// only: its plan, its progress, its final status; rank 0 answers with the job's
// status once everything is merged. MpiWorld carries them over MPI; tests use
// an in-memory Transport.
#include <optional>
#include <string>

namespace capbench::distributed {

struct Message {
  int source = 0;  // the sending rank
  int kind = 0;    // one of the kinds of rank_job.h
  std::string body;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Delivers `body` to rank `to` (returns once the message is on its way).
  virtual void send(int to, int kind, const std::string& body) = 0;
  // Sends without waiting; returns false, sending nothing, while the previous
  // post of this rank is still in flight (for updates that a later one replaces).
  virtual bool post(int to, int kind, const std::string& body) = 0;
  // A message that has arrived for this rank, if any; never waits.
  virtual std::optional<Message> receive() = 0;
};

}  // namespace capbench::distributed
