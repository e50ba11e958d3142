// File: tar.hpp
//
// A small POSIX ustar writer and a bounded reader, plus gzip through zlib:
// what a certification bundle (bundle.hpp) is made of.
//
//   std::vector<reports::TarMember> m = {{"junit.xml", xml}, {"logs/a/driver.log", log}};
//   DRAHIL_ASSIGN_OR_RETURN(std::string tar, reports::WriteTar(m));
//   DRAHIL_ASSIGN_OR_RETURN(std::string gz, reports::Gzip(tar));
//
// The writer emits regular files only: 512-byte header blocks (magic
// "ustar\0", version "00", octal fields, the checksum), the data padded to
// 512 bytes, and two zero blocks at the end. A path longer than 100 bytes is
// split at a '/' into the 155-byte prefix field and the 100-byte name field;
// one that cannot be split so is an error naming it (no GNU or pax
// extensions, so any tar reads the result).
//
// The reader takes only what the writer makes, and untrusted input: every
// header's checksum is checked, sizes are bounded (TarLimits), and a member
// that is not a regular file, whose path is absolute, contains "..", is
// empty or repeats an earlier one, or data that ends early or goes on after
// the end-of-archive blocks, is an error naming the member. It never reads
// past the input.
//
// Thread-safety: pure functions of their arguments.
#ifndef DRAHIL_REPORTS_TAR_HPP_INCLUDED
#define DRAHIL_REPORTS_TAR_HPP_INCLUDED

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "drahil/core/status.hpp"

namespace drahil::reports {

struct TarMember {
  std::string path;  // relative, '/'-separated
  std::string data;
  uint32_t mode = 0644;
  int64_t mtime = 0;  // seconds since the epoch
};

struct TarLimits {
  size_t max_members = 10000;
  uint64_t max_member_bytes = 512ull << 20;
  uint64_t max_total_bytes = 1ull << 30;  // all members' data together
};

// WriteTar(): the archive; fails on a path ustar cannot hold or that the
// reader would refuse (absolute, "..", empty, duplicate).
Result<std::string> WriteTar(const std::vector<TarMember>& members);

// ReadTar(): the members in archive order.
Result<std::vector<TarMember>> ReadTar(std::string_view archive, const TarLimits& limits = {});

// CheckMemberPath(): why a member path is refused ("" when it is fine).
std::string CheckMemberPath(std::string_view path);

// Gzip()/Gunzip(): RFC 1952 through zlib. Gunzip() stops with an error once
// the output would pass max_bytes, so a small input cannot expand without end,
// and refuses truncated or corrupt input and trailing data.
Result<std::string> Gzip(std::string_view data);
Result<std::string> Gunzip(std::string_view gz, size_t max_bytes);

}  // namespace drahil::reports

#endif  // DRAHIL_REPORTS_TAR_HPP_INCLUDED
