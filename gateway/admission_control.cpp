#include "gateway/admission_control.h"

#include <algorithm>

namespace toolgate::gateway {

struct AdmissionControl::Ticket {
  enum class State { Waiting, Running, Left } state = State::Waiting;
  std::function<void()> start;
};

AdmissionControl::AdmissionControl(int max_running, int max_waiting)
    : max_running_(std::max(1, max_running)), max_waiting_(std::max(0, max_waiting)) {}

AdmissionControl::TicketPtr AdmissionControl::enter(std::function<void()> start) {
  auto t = std::make_shared<Ticket>();
  {
    std::lock_guard lock(mu_);
    if (running_ < max_running_ && queue_.empty()) {
      ++running_;
      t->state = Ticket::State::Running;
    } else if (static_cast<int>(queue_.size()) < max_waiting_) {
      t->start = std::move(start);
      queue_.push_back(t);
      return t;
    } else {
      return nullptr;
    }
  }
  start();
  return t;
}

void AdmissionControl::leave(const TicketPtr& ticket) {
  if (!ticket) return;
  std::vector<std::function<void()>> to_start;
  {
    std::lock_guard lock(mu_);
    if (ticket->state == Ticket::State::Left) return;
    if (ticket->state == Ticket::State::Waiting) {
      queue_.erase(std::remove(queue_.begin(), queue_.end(), ticket), queue_.end());
      ticket->state = Ticket::State::Left;
      ticket->start = nullptr;
      return;
    }
    ticket->state = Ticket::State::Left;
    --running_;
    while (running_ < max_running_ && !queue_.empty()) {
      auto next = queue_.front();
      queue_.pop_front();
      next->state = Ticket::State::Running;
      ++running_;
      to_start.push_back(std::move(next->start));
      next->start = nullptr;
    }
  }
  for (auto& f : to_start) f();
}

int AdmissionControl::running() const {
  std::lock_guard lock(mu_);
  return running_;
}

int AdmissionControl::waiting() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(queue_.size());
}

}  // namespace toolgate::gateway
