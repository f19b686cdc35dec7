#pragma once
// Model-load progress for people watching a terminal: one bar line redrawn in place while the
// weights are read and prepared, erased when the load ends (the "ready" log line follows). When
// the output is not a terminal (a log file, systemd, CI) nothing is drawn: the log lines that
// bracket the load say what happened.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "engine/engine.h"

namespace toolgate::gateway {

// "qwen  reading   [##########..........]  48%  536/1117 MiB" for stage "reading" (bytes);
// other stages show only the share. `width` is the bar's inner width.
std::string load_progress_line(std::string_view model, const engine::LoadProgress& p, int width = 30);

class LoadProgressBar {
 public:
  // Draws on `out` only when `interactive` (the caller checks isatty on out's descriptor).
  LoadProgressBar(std::string model, std::FILE* out, bool interactive);
  ~LoadProgressBar();
  LoadProgressBar(const LoadProgressBar&) = delete;
  LoadProgressBar& operator=(const LoadProgressBar&) = delete;

  void update(const engine::LoadProgress& p);
  // Erases the bar (also done by the destructor, e.g. when the load throws).
  void finish();

 private:
  std::string model_;
  std::FILE* out_;
  bool interactive_;
  bool drawn_ = false;
  int last_percent_ = -1;
  std::string last_stage_;
  std::chrono::steady_clock::time_point last_draw_{};
};

// True when `out` writes to a terminal.
bool is_terminal(std::FILE* out);

}  // namespace toolgate::gateway
