#include "gateway/load_progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

namespace toolgate::gateway {

std::string load_progress_line(std::string_view model, const engine::LoadProgress& p, int width) {
  const double share =
      p.total == 0 ? 1.0 : std::clamp(static_cast<double>(p.done) / static_cast<double>(p.total), 0.0, 1.0);
  const int filled = static_cast<int>(share * width + 0.5);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(width - filled), '.');
  std::string line = fmt::format("{}  {:<9} [{}] {:3d}%", model, p.stage, bar,
                                 static_cast<int>(share * 100.0));
  if (p.stage == "reading") {
    line += fmt::format("  {}/{} MiB", p.done >> 20, p.total >> 20);
  }
  return line;
}

bool is_terminal(std::FILE* out) { return out && ::isatty(::fileno(out)) == 1; }

LoadProgressBar::LoadProgressBar(std::string model, std::FILE* out, bool interactive)
    : model_(std::move(model)), out_(out), interactive_(interactive && out) {}

LoadProgressBar::~LoadProgressBar() { finish(); }

void LoadProgressBar::update(const engine::LoadProgress& p) {
  if (!interactive_) return;
  const int percent = p.total == 0 ? 100 : static_cast<int>(p.done * 100 / p.total);
  const auto now = std::chrono::steady_clock::now();
  // Redraw on a new stage or percent, at most every 50 ms: a terminal is slow, loads are fast.
  const bool new_stage = p.stage != last_stage_;
  if (!new_stage && (percent == last_percent_ || now - last_draw_ < std::chrono::milliseconds(50)) &&
      percent != 100)
    return;
  last_stage_ = std::string(p.stage);
  last_percent_ = percent;
  last_draw_ = now;
  std::fprintf(out_, "\r\033[K%s", load_progress_line(model_, p).c_str());
  std::fflush(out_);
  drawn_ = true;
}

void LoadProgressBar::finish() {
  if (!drawn_) return;
  std::fprintf(out_, "\r\033[K");
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace toolgate::gateway
