// File: unique_fd.hpp
//
// UniqueFd: owns one file descriptor and closes it on destruction. Move-only.
#ifndef DRAHIL_CORE_UNIQUE_FD_HPP_INCLUDED
#define DRAHIL_CORE_UNIQUE_FD_HPP_INCLUDED

#include <utility>

namespace drahil {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) Reset(o.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  // Release(): gives up ownership without closing.
  [[nodiscard]] int Release() { return std::exchange(fd_, -1); }
  // Reset(): closes the current descriptor (if any) and owns fd.
  void Reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

}  // namespace drahil

#endif  // DRAHIL_CORE_UNIQUE_FD_HPP_INCLUDED
