#include "drahil/reports/tar.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <set>

namespace drahil::reports {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kNameLen = 100;
constexpr size_t kPrefixLen = 155;

// Header field offsets and sizes (POSIX.1-1988 ustar).
struct Field {
  size_t off, len;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kUid{108, 8}, kGid{116, 8}, kSize{124, 12},
    kMtime{136, 12}, kChksum{148, 8}, kType{156, 1}, kMagic{257, 6}, kVersion{263, 2},
    kUname{265, 32}, kGname{297, 32}, kPrefix{345, 155};

void PutOctal(char* h, Field f, uint64_t v) {
  // len-1 octal digits, zero-padded, then NUL.
  std::string s(f.len - 1, '0');
  for (size_t i = s.size(); i-- > 0 && v != 0; v >>= 3) s[i] = static_cast<char>('0' + (v & 7));
  std::memcpy(h + f.off, s.data(), s.size());
  h[f.off + f.len - 1] = '\0';
}

void PutText(char* h, Field f, std::string_view s) {
  std::memcpy(h + f.off, s.data(), std::min(s.size(), f.len));
}

unsigned Checksum(const char* h) {
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    bool in_field = i >= kChksum.off && i < kChksum.off + kChksum.len;
    sum += in_field ? ' ' : static_cast<unsigned char>(h[i]);
  }
  return sum;
}

// SplitPath(): prefix and name fields for path; false when ustar cannot hold it.
bool SplitPath(const std::string& path, std::string& prefix, std::string& name) {
  if (path.size() <= kNameLen) {
    prefix.clear();
    name = path;
    return true;
  }
  // The longest prefix that fits, so that the name part is as short as possible.
  size_t limit = std::min(path.size() - 1, kPrefixLen);
  for (size_t i = limit + 1; i-- > 0;) {
    if (path[i] != '/') continue;
    if (path.size() - i - 1 > kNameLen || i == 0) return false;
    prefix = path.substr(0, i);
    name = path.substr(i + 1);
    return true;
  }
  return false;
}

// ParseOctal(): a numeric field (octal digits, leading spaces, ended by NUL or
// space); fails on anything else, including the base-256 form.
bool ParseOctal(std::string_view f, uint64_t& out) {
  size_t i = 0;
  while (i < f.size() && f[i] == ' ') ++i;
  uint64_t v = 0;
  size_t digits = 0;
  for (; i < f.size() && f[i] >= '0' && f[i] <= '7'; ++i, ++digits) {
    if (v > (UINT64_MAX >> 3)) return false;
    v = (v << 3) | static_cast<uint64_t>(f[i] - '0');
  }
  for (; i < f.size(); ++i)
    if (f[i] != '\0' && f[i] != ' ') return false;
  out = v;
  return digits > 0;
}

std::string Text(const char* h, Field f) {
  std::string_view s(h + f.off, f.len);
  return std::string(s.substr(0, s.find('\0')));
}

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '\0'; });
}

std::string TypeName(char t) {
  switch (t) {
    case '1':
      return "a hard link";
    case '2':
      return "a symbolic link";
    case '3':
    case '4':
      return "a device node";
    case '5':
      return "a directory";
    case '6':
      return "a FIFO";
    case 'L':
    case 'K':
      return "a GNU long-name record";
    case 'x':
    case 'g':
      return "a pax extended header";
    default:
      return std::string("of type '") + (t >= 32 && t < 127 ? std::string(1, t) : "?") + "'";
  }
}

// ReadHeader(): one member's header at block h; fills m (path, mode, mtime)
// and size.
Status ReadHeader(const char* h, size_t offset, TarMember& m, uint64_t& size) {
  std::string where = "tar header at byte " + std::to_string(offset);
  uint64_t sum = 0;
  if (!ParseOctal(std::string_view(h + kChksum.off, kChksum.len), sum) || sum != Checksum(h))
    return InvalidArgumentError(where + ": bad header checksum (corrupt or not a tar)");
  if (std::memcmp(h + kMagic.off, "ustar", 5) != 0)
    return InvalidArgumentError(where + ": not a ustar header");
  std::string name = Text(h, kName), prefix = Text(h, kPrefix);
  m.path = prefix.empty() ? name : prefix + "/" + name;
  std::string label = "tar member \"" + m.path + "\"";
  char type = h[kType.off];
  if (type != '0' && type != '\0') return InvalidArgumentError(label + " is " + TypeName(type));
  if (std::string why = CheckMemberPath(m.path); !why.empty())
    return InvalidArgumentError(label + ": " + why);
  uint64_t mode = 0, mtime = 0;
  if (!ParseOctal(std::string_view(h + kSize.off, kSize.len), size) ||
      !ParseOctal(std::string_view(h + kMode.off, kMode.len), mode) ||
      !ParseOctal(std::string_view(h + kMtime.off, kMtime.len), mtime))
    return InvalidArgumentError(label + ": bad numeric field (size, mode or mtime)");
  m.mode = static_cast<uint32_t>(mode & 07777);
  m.mtime = static_cast<int64_t>(std::min<uint64_t>(mtime, INT64_MAX));
  return OkStatus();
}

}  // namespace

std::string CheckMemberPath(std::string_view path) {
  if (path.empty()) return "empty path";
  if (path.front() == '/') return "absolute path";
  if (path.find('\0') != std::string_view::npos) return "NUL in path";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = std::min(path.find('/', start), path.size());
    std::string_view part = path.substr(start, end - start);
    if (part == "..") return "path contains \"..\"";
    if (part.empty() || part == ".") return "path has an empty or \".\" component";
    start = end + 1;
  }
  return "";
}

Result<std::string> WriteTar(const std::vector<TarMember>& members) {
  std::string out;
  std::set<std::string> seen;
  for (const TarMember& m : members) {
    if (std::string why = CheckMemberPath(m.path); !why.empty())
      return InvalidArgumentError("tar member \"" + m.path + "\": " + why);
    if (!seen.insert(m.path).second)
      return InvalidArgumentError("tar member \"" + m.path + "\" given twice");
    std::string prefix, name;
    if (!SplitPath(m.path, prefix, name))
      return InvalidArgumentError("tar member \"" + m.path +
                                  "\": path too long for ustar (a name of at most 100 bytes "
                                  "after a directory part of at most 155)");
    char h[kBlock] = {};
    PutText(h, kName, name);
    PutOctal(h, kMode, m.mode & 07777);
    PutOctal(h, kUid, 0);
    PutOctal(h, kGid, 0);
    PutOctal(h, kSize, m.data.size());
    PutOctal(h, kMtime, static_cast<uint64_t>(std::max<int64_t>(m.mtime, 0)));
    h[kType.off] = '0';
    std::memcpy(h + kMagic.off, "ustar", 6);  // with its NUL
    std::memcpy(h + kVersion.off, "00", 2);
    PutText(h, kUname, "root");
    PutText(h, kGname, "root");
    PutText(h, kPrefix, prefix);
    // Six octal digits, NUL, space: the customary form.
    std::string sum(7, '0');
    unsigned v = Checksum(h);
    for (size_t i = 6; i-- > 0; v >>= 3) sum[i] = static_cast<char>('0' + (v & 7));
    sum[6] = '\0';
    std::memcpy(h + kChksum.off, sum.data(), 7);
    h[kChksum.off + 7] = ' ';
    out.append(h, kBlock);
    out += m.data;
    out.append((kBlock - m.data.size() % kBlock) % kBlock, '\0');
  }
  out.append(2 * kBlock, '\0');
  return out;
}

Result<std::vector<TarMember>> ReadTar(std::string_view a, const TarLimits& limits) {
  std::vector<TarMember> out;
  std::set<std::string> seen;
  uint64_t total = 0;
  size_t off = 0;
  while (true) {
    if (a.size() - off < kBlock)
      return InvalidArgumentError("tar: truncated at byte " + std::to_string(off) +
                                  " (no end-of-archive blocks)");
    const char* h = a.data() + off;
    if (AllZero(std::string_view(h, kBlock))) {
      if (a.size() - off < 2 * kBlock)
        return InvalidArgumentError("tar: truncated (one end-of-archive block of two)");
      if (!AllZero(a.substr(off)))
        return InvalidArgumentError("tar: data after the end-of-archive blocks at byte " +
                                    std::to_string(off));
      return out;
    }
    if (out.size() >= limits.max_members)
      return InvalidArgumentError("tar: more than " + std::to_string(limits.max_members) +
                                  " members");
    TarMember m;
    uint64_t size = 0;
    DRAHIL_RETURN_IF_ERROR(ReadHeader(h, off, m, size));
    std::string label = "tar member \"" + m.path + "\"";
    if (size > limits.max_member_bytes || total + size > limits.max_total_bytes)
      return InvalidArgumentError(label + ": size " + std::to_string(size) +
                                  " bytes is over the limit");
    total += size;
    off += kBlock;
    uint64_t padded = (size + kBlock - 1) / kBlock * kBlock;
    if (a.size() - off < padded)
      return InvalidArgumentError(label + ": truncated (data ends before its " +
                                  std::to_string(size) + " bytes)");
    if (!seen.insert(m.path).second) return InvalidArgumentError(label + " appears twice");
    m.data = std::string(a.substr(off, size));
    off += padded;
    out.push_back(std::move(m));
  }
}

Result<std::string> Gzip(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return InternalError("gzip: deflateInit2 failed");
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return InternalError("gzip: deflate failed (" + std::to_string(rc) + ")");
  return out;
}

Result<std::string> Gunzip(std::string_view gz, size_t max_bytes) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return InternalError("gunzip: inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    size_t got = sizeof(buf) - z.avail_out;
    if (out.size() + got > max_bytes) {
      inflateEnd(&z);
      return InvalidArgumentError("gzip: expands past " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, got);
    if (rc == Z_OK && got == 0 && z.avail_in == 0) {
      rc = Z_BUF_ERROR;
      break;
    }
  }
  size_t left = z.avail_in;
  inflateEnd(&z);
  if (rc == Z_BUF_ERROR) return InvalidArgumentError("gzip: truncated");
  if (rc != Z_STREAM_END)
    return InvalidArgumentError(std::string("gzip: corrupt data (") +
                                (z.msg != nullptr ? z.msg : std::to_string(rc)) + ")");
  if (left != 0) return InvalidArgumentError("gzip: data after the end of the stream");
  return out;
}

}  // namespace drahil::reports
