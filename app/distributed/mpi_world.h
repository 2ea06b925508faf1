#pragma once
// This process as one rank of an MPI job (the only code that includes <mpi.h>).
// join() calls MPI_Init; the destructor calls MPI_Finalize. Built without MPI
// (cmake -DCAPBENCH_WITH_MPI=OFF), join() throws an Error saying so.
#include <memory>
#include <string>

#include "app/distributed/transport.h"

namespace capbench::distributed {

class MpiWorld : public Transport {
 public:
  // Joins the job that an MPI launcher started (see started_by_mpi_launcher).
  static std::unique_ptr<MpiWorld> join();
  // Whether this binary was built with MPI.
  static bool available();

  ~MpiWorld() override;
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const { return local_rank_; }  // among the ranks on this machine
  int local_size() const { return local_size_; }
  const std::string& host() const { return host_; }

  void send(int to, int kind, const std::string& body) override;
  bool post(int to, int kind, const std::string& body) override;
  std::optional<Message> receive() override;

 private:
  MpiWorld() = default;
  struct State;
  std::unique_ptr<State> state_;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  std::string host_;
};

}  // namespace capbench::distributed
