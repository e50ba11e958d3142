#include "drahil/core/unique_fd.hpp"

#include <unistd.h>

namespace drahil {
void UniqueFd::Reset(int fd) noexcept {
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}
}  // namespace drahil
