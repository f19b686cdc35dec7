#include "tools/isolated_plugin.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>

#include "tools/plugin_frames.h"
#include "tools/plugin_host.h"

namespace toolgate::tools {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// One host process at a time for a plugin; restarted on demand after it dies.
class PluginProcess {
 public:
  PluginProcess(std::filesystem::path path, std::string settings, PluginIsolation isolation)
      : path_(std::move(path)),
        settings_(std::move(settings)),
        iso_(std::move(isolation)),
        backoff_(iso_.first_backoff) {}
  ~PluginProcess() { stop(); }
  PluginProcess(const PluginProcess&) = delete;
  PluginProcess& operator=(const PluginProcess&) = delete;

  // Starts the host and returns its hello; throws PluginLoadError.
  json start_first() {
    std::lock_guard lock(mu_);
    return spawn();
  }

  void set_name(std::string name) { name_ = std::move(name); }

  json call(const std::string& tool, const json& arguments) {
    std::lock_guard lock(mu_);
    if (pid_ <= 0) restart();
    if (!write_frame(fd_, {{"tool", tool}, {"arguments", arguments}})) {
      throw std::runtime_error(failure(tool, reap(false)));
    }
    json reply;
    FrameRead r = read_frame(fd_, reply, iso_.call_timeout);
    if (r == FrameRead::kTimedOut) {
      reap(true);
      throw std::runtime_error("plugin '" + name_ + "' did not answer '" + tool + "' within " +
                               std::to_string(iso_.call_timeout.count()) +
                               " ms; its process was killed and will be restarted");
    }
    if (r != FrameRead::kOk)
      throw std::runtime_error(failure(tool, reap(r == FrameRead::kMalformed)));
    backoff_ = iso_.first_backoff;  // a good answer ends a run of failures
    if (reply.value("ok", false)) return reply.value("value", json());
    throw std::runtime_error(reply.value("error", std::string("plugin error")));
  }

 private:
  // fork + exec of the host. Between fork and exec the child calls only async-signal-safe
  // functions (the server is multi-threaded): everything is prepared before the fork.
  json spawn() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
      throw PluginLoadError(where() + "socketpair failed: " + std::strerror(errno));
    const std::string binary = iso_.host_binary.string();
    const std::string plugin = path_.string();
    const char* argv[] = {binary.c_str(), "--plugin-host", plugin.c_str(), settings_.c_str(),
                          nullptr};
    const rlimit cpu{rlim_t(iso_.cpu_seconds), rlim_t(iso_.cpu_seconds) + 1};
    const rlimit as{rlim_t(iso_.memory_bytes), rlim_t(iso_.memory_bytes)};
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      throw PluginLoadError(where() + "fork failed: " + std::strerror(errno));
    }
    if (pid == 0) {
      // dup2 clears FD_CLOEXEC on the copy, so only this end crosses the exec.
      if (::dup2(fds[1], kPluginHostFd) < 0) ::_exit(126);
      // Nothing else of the server's crosses (Asio's listening and client sockets are not
      // close-on-exec): the helper must hold no connection open and accept none.
      if (::syscall(SYS_close_range, kPluginHostFd + 1, ~0u, 0) != 0) {
        for (int fd = kPluginHostFd + 1; fd < 65536; ++fd) ::close(fd);
      }
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(0);  // the server died before the line above
      ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      ::setrlimit(RLIMIT_CPU, &cpu);
      if (as.rlim_cur > 0) ::setrlimit(RLIMIT_AS, &as);
      ::setrlimit(RLIMIT_CORE, &kNoCore);
      ::execv(argv[0], const_cast<char* const*>(argv));
      ::_exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
    pid_ = pid;
    json hello;
    FrameRead r = read_frame(fd_, hello, iso_.start_timeout);
    if (r != FrameRead::kOk) {
      std::string status = reap(true);
      throw PluginLoadError(where() + "the plugin host " +
                            (r == FrameRead::kTimedOut ? "sent nothing within the start timeout"
                                                       : "ended before saying hello") +
                            " (" + status + ")");
    }
    if (!hello.value("ok", false)) {
      reap(false);
      // The host's message already names the file ("plugin PATH: ...").
      throw PluginLoadError(hello.value("error", where() + "the plugin host failed"));
    }
    return hello;
  }

  // After a failure: waits out the back-off (bounded by the call timeout), then spawns.
  void restart() {
    auto wait = next_start_ - Clock::now();
    if (wait > iso_.call_timeout)
      throw std::runtime_error("plugin '" + name_ + "' is being restarted after a failure");
    if (wait.count() > 0) std::this_thread::sleep_for(wait);
    try {
      json hello = spawn();
      (void)hello;  // the tools were registered from the first hello; a plugin cannot change them
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("plugin could not be restarted: ") + e.what());
    }
  }

  void note_failure() {
    next_start_ = Clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, iso_.max_backoff);
  }

  // Kills (when asked) and reaps the host; describes how it ended.
  std::string reap(bool kill_first) {
    if (pid_ <= 0) return "not running";
    if (kill_first) ::kill(pid_, SIGKILL);
    ::close(fd_);
    fd_ = -1;
    int status = 0;
    pid_t r;
    do r = ::waitpid(pid_, &status, 0);
    while (r < 0 && errno == EINTR);
    pid_ = -1;
    note_failure();
    if (r < 0) return "status unknown";
    if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
      int sig = WTERMSIG(status);
      std::string text =
          std::string("killed by signal ") + std::to_string(sig) + ", " + ::strsignal(sig);
      if (sig == SIGXCPU)
        text += ": the CPU limit of " + std::to_string(iso_.cpu_seconds) + " s was used up";
      if (sig == SIGABRT) text += ", e.g. out of memory under the address-space limit";
      return text;
    }
    return "stopped";
  }

  std::string failure(const std::string& tool, const std::string& status) const {
    return "plugin '" + name_ + "' crashed while running '" + tool + "' (" + status +
           "); it will be restarted";
  }

  void stop() {
    std::lock_guard lock(mu_);
    if (pid_ <= 0) return;
    ::close(fd_);  // the host sees EOF and exits
    fd_ = -1;
    for (int i = 0; i < 50; ++i) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  std::string where() const { return "plugin " + path_.string() + ": "; }

  static constexpr rlimit kNoCore{0, 0};

  const std::filesystem::path path_;
  const std::string settings_;
  const PluginIsolation iso_;
  std::string name_;
  std::mutex mu_;
  int fd_ = -1;
  pid_t pid_ = -1;
  std::chrono::milliseconds backoff_;
  Clock::time_point next_start_{};
};

class IsolatedTool final : public Tool {
 public:
  IsolatedTool(std::shared_ptr<PluginProcess> process, ToolSpec spec)
      : process_(std::move(process)), spec_(std::move(spec)) {}
  const ToolSpec& spec() const override { return spec_; }
  json invoke(const json& arguments) override { return process_->call(spec_.name, arguments); }

 private:
  std::shared_ptr<PluginProcess> process_;
  ToolSpec spec_;
};

}  // namespace

LoadedPlugin load_isolated_plugin(ToolRegistry& registry, const std::filesystem::path& path,
                                  const nlohmann::json& settings,
                                  const PluginIsolation& isolation) {
  const std::string where = "plugin " + path.string() + ": ";
  if (path.string().find('/') != std::string::npos) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw PluginLoadError(where + "file not found");
  }
  auto process =
      std::make_shared<PluginProcess>(path, settings.is_null() ? "{}" : settings.dump(), isolation);
  json hello = process->start_first();
  LoadedPlugin loaded;
  loaded.name = hello.value("name", path.stem().string());
  loaded.path = path;
  process->set_name(loaded.name);
  std::vector<ToolSpec> specs;
  for (const auto& t : hello.value("tools", json::array())) {
    ToolSpec spec{t.value("name", ""), t.value("description", ""), t.value("parameters", json())};
    if (registry.contains(spec.name))
      throw PluginLoadError(where + "tool '" + spec.name + "' is already registered");
    specs.push_back(std::move(spec));
  }
  for (auto& spec : specs) {
    loaded.tool_names.push_back(spec.name);
    registry.add(std::make_unique<IsolatedTool>(process, std::move(spec)));
  }
  return loaded;
}

}  // namespace toolgate::tools
