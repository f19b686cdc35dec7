#include "config/config_issue.h"

namespace toolgate::config {

std::string ConfigIssue::to_string() const {
  // Built with append: GCC 12 warns falsely (-Wrestrict) on `":" + std::to_string(n)`.
  std::string out = file;
  if (line > 0) {
    out.append(":").append(std::to_string(line)).append(":").append(std::to_string(column));
  }
  out.append(": ");
  if (!path.empty()) out.append(path).append(": ");
  out.append(message);
  return out;
}

}  // namespace toolgate::config
