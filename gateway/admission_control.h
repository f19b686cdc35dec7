#pragma once
// Gateway-level admission: at most `max_running` chat completions generate at once, at most
// `max_waiting` more wait (FIFO) for a slot; anything beyond is refused (429) at once, so an
// overload shows up as fast errors instead of unbounded latency.
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace toolgate::gateway {

class AdmissionControl {
 public:
  struct Ticket;
  using TicketPtr = std::shared_ptr<Ticket>;

  AdmissionControl(int max_running, int max_waiting);

  // Returns null when refused. Otherwise `start` runs exactly once when a slot is granted —
  // synchronously from enter() when one is free, later from another caller's leave() — unless
  // the ticket is withdrawn first. `start` must be cheap (post to a strand).
  TicketPtr enter(std::function<void()> start);
  // Gives back the slot of a started ticket, or withdraws a waiting one. Idempotent.
  void leave(const TicketPtr& ticket);

  int running() const;
  int waiting() const;

 private:
  mutable std::mutex mu_;
  int max_running_;
  int max_waiting_;
  int running_ = 0;
  std::deque<TicketPtr> queue_;
};

}  // namespace toolgate::gateway
