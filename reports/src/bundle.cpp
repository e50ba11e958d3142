#include "drahil/reports/bundle.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <set>

#include "drahil/core/file_util.hpp"
#include "drahil/reports/tar.hpp"

namespace drahil::reports {
namespace {

using nlohmann::json;

constexpr size_t kMaxBundleBytes = 1ull << 30;  // uncompressed
constexpr size_t kMaxLogBytes = 64u << 20;      // one log file in a bundle

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// ProfileMember(): the profile's own file name under profile/.
std::string ProfileMember(const std::string& path) {
  std::string base = std::filesystem::path(path).filename().string();
  if (!CheckMemberPath(base).empty() || base.size() > 90) base = "profile.yaml";
  return "profile/" + base;
}

// Members(): every member but the manifest, bundle.json first.
Result<std::vector<TarMember>> Members(const BundleInputs& in, int64_t mtime) {
  std::vector<TarMember> m;
  json notes = json::array();
  m.push_back({"junit.xml", RenderJUnit(in.report, in.render)});
  m.push_back({"report.json", RenderJson(in.report)});
  m.push_back({"report.html", RenderHtml(in.report, in.render)});
  if (!in.profile_path.empty()) {
    auto text = ReadFile(in.profile_path, 16u << 20);
    if (!text.ok()) return text.status().WithContext("bundle: driver profile");
    m.push_back({ProfileMember(in.profile_path), *text});
  }
  m.push_back({"inventory.json", in.inventory_json.empty() ? "{}\n" : in.inventory_json});
  for (const auto& [member, file] : in.files) {
    auto text = ReadFile(file, kMaxLogBytes);
    if (!text.ok() || !CheckMemberPath(member).empty()) {
      notes.push_back("left out " + member + ": " +
                      (text.ok() ? CheckMemberPath(member) : text.status().message()));
      continue;
    }
    m.push_back({member, *text});
  }
  json info = {{"format_version", kBundleFormatVersion},
               {"created", Rfc3339(in.created)},
               {"versions", in.versions},
               {"driver", in.report.driver_name},
               {"driver_version", in.report.driver_version},
               {"partial", in.report.partial},
               {"notes", notes}};
  json files = json::array();
  for (const auto& t : m) files.push_back(t.path);
  info["files"] = files;
  m.insert(m.begin(), TarMember{std::string(kBundleInfo), info.dump(2) + "\n"});
  for (auto& t : m) t.mtime = mtime;
  return m;
}

Status Invalid(std::string_view member, const std::string& what) {
  return InvalidArgumentError(std::string(member) + ": " + what);
}

// ParseManifest(): path → hash; each line "<64 hex>  <path>" (or " *<path>").
Result<std::map<std::string, std::string>> ParseManifest(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t start = 0, line_no = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    std::string where = "line " + std::to_string(line_no);
    bool hex = line.size() > 66 && line.find_first_not_of("0123456789abcdef") == 64;
    if (!hex || line[64] != ' ' || (line[65] != ' ' && line[65] != '*'))
      return Invalid(kBundleManifest, where + " is not \"<sha256>  <member>\"");
    std::string path = line.substr(66);
    if (!out.emplace(path, line.substr(0, 64)).second)
      return Invalid(kBundleManifest, where + " lists " + path + " again");
  }
  return out;
}

Status CheckManifest(const std::vector<TarMember>& members) {
  const TarMember* manifest = nullptr;
  for (const auto& m : members)
    if (m.path == kBundleManifest) manifest = &m;
  if (manifest == nullptr) return Invalid(kBundleManifest, "missing from the bundle");
  DRAHIL_ASSIGN_OR_RETURN(auto listed, ParseManifest(manifest->data));
  for (const auto& m : members) {
    if (&m == manifest) continue;
    auto it = listed.find(m.path);
    if (it == listed.end()) return Invalid(m.path, "not listed in " + std::string(kBundleManifest));
    if (Sha256Hex(m.data) != it->second)
      return Invalid(m.path, "sha256 " + Sha256Hex(m.data) + " does not match the manifest's " +
                                 it->second + " (the member was changed)");
    listed.erase(it);
  }
  if (!listed.empty())
    return Invalid(listed.begin()->first, "listed in the manifest but missing from the bundle");
  return OkStatus();
}

const std::string* Find(const std::vector<TarMember>& members, std::string_view path) {
  for (const auto& m : members)
    if (m.path == path) return &m.data;
  return nullptr;
}

Status ReadInfo(const std::string& text, BundleSummary& s) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Invalid(kBundleInfo, "not a JSON object");
  if (!j.contains("format_version") || !j["format_version"].is_number_integer())
    return Invalid(kBundleInfo, "format_version missing or not an integer");
  s.format_version = j["format_version"].get<int>();
  if (s.format_version != kBundleFormatVersion)
    return Invalid(kBundleInfo, "format_version " + std::to_string(s.format_version) +
                                    " is not supported (this drahil reads " +
                                    std::to_string(kBundleFormatVersion) + ")");
  if (j.contains("created") && j["created"].is_string()) s.created = j["created"];
  if (j.contains("versions") && j["versions"].is_object()) {
    for (const auto& [k, v] : j["versions"].items())
      if (v.is_string()) s.versions[k] = v.get<std::string>();
  }
  return OkStatus();
}

Status ReadJUnit(const std::string& text, Counts& c) {
  pugi::xml_document doc;
  auto r = doc.load_buffer(text.data(), text.size());
  if (!r) return Invalid("junit.xml", std::string("not XML: ") + r.description());
  pugi::xml_node root = doc.child("testsuites");
  if (!root) return Invalid("junit.xml", "no <testsuites> root");
  for (auto ts : root.children("testsuite")) {
    c.tests += ts.attribute("tests").as_int();
    c.failures += ts.attribute("failures").as_int();
    c.errors += ts.attribute("errors").as_int();
    c.skipped += ts.attribute("skipped").as_int();
  }
  return OkStatus();
}

Status CrossCheck(const Counts& junit, const Counts& js) {
  auto same = [](const Counts& a, const Counts& b) {
    return a.tests == b.tests && a.failures == b.failures && a.errors == b.errors &&
           a.skipped == b.skipped;
  };
  if (same(junit, js)) return OkStatus();
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "counts (%d tests, %d failures, %d errors, %d skipped) disagree with "
                "report.json (%d, %d, %d, %d)",
                junit.tests, junit.failures, junit.errors, junit.skipped, js.tests, js.failures,
                js.errors, js.skipped);
  return Invalid("junit.xml", buf);
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

Result<std::string> BuildBundle(const BundleInputs& in) {
  int64_t mtime =
      std::chrono::duration_cast<std::chrono::seconds>(in.created.time_since_epoch()).count();
  DRAHIL_ASSIGN_OR_RETURN(std::vector<TarMember> members, Members(in, mtime));
  std::string manifest;
  for (const auto& m : members) manifest += Sha256Hex(m.data) + "  " + m.path + "\n";
  members.push_back({std::string(kBundleManifest), manifest, 0644, mtime});
  DRAHIL_ASSIGN_OR_RETURN(std::string tar, WriteTar(members));
  return Gzip(tar);
}

Status WriteBundle(const std::string& path, const BundleInputs& in) {
  DRAHIL_ASSIGN_OR_RETURN(std::string gz, BuildBundle(in));
  std::string parent = std::filesystem::path(path).parent_path().string();
  if (!parent.empty()) DRAHIL_RETURN_IF_ERROR_CTX(MakeDirs(parent), "write bundle " + path);
  return AtomicWriteFile(path, gz).WithContext("write bundle " + path);
}

Result<BundleSummary> VerifyBundle(std::string_view gz) {
  DRAHIL_ASSIGN_OR_RETURN(std::string tar, Gunzip(gz, kMaxBundleBytes));
  DRAHIL_ASSIGN_OR_RETURN(std::vector<TarMember> members, ReadTar(tar));
  DRAHIL_RETURN_IF_ERROR(CheckManifest(members));
  BundleSummary s;
  for (const auto& m : members) s.members.push_back(m.path);
  for (std::string_view need :
       {kBundleInfo, std::string_view("junit.xml"), std::string_view("report.json")}) {
    if (Find(members, need) == nullptr) return Invalid(need, "missing from the bundle");
  }
  DRAHIL_RETURN_IF_ERROR(ReadInfo(*Find(members, kBundleInfo), s));
  DRAHIL_RETURN_IF_ERROR(ReadJUnit(*Find(members, "junit.xml"), s.junit_counts));
  auto run = ParseJsonReport(*Find(members, "report.json"));
  if (!run.ok()) return Invalid("report.json", run.status().message());
  s.json_counts = CountRun(*run);
  DRAHIL_RETURN_IF_ERROR(CrossCheck(s.junit_counts, s.json_counts));
  s.driver_name = run->driver_name;
  s.driver_version = run->driver_version;
  s.hardware = run->hardware;
  s.partial = run->partial;
  s.certification = Certify(*run);
  return s;
}

std::string BundleSummaryText(const BundleSummary& s) {
  std::string out = "bundle: format " + std::to_string(s.format_version) + ", created " +
                    s.created + ", " + std::to_string(s.members.size()) +
                    " members, every hash matches " + std::string(kBundleManifest) + "\n";
  out += "driver: " + s.driver_name + " " + s.driver_version +
         (s.hardware.empty() ? "" : " on " + s.hardware) + "\n";
  std::string v;
  for (const auto& [k, val] : s.versions) v += (v.empty() ? "" : ", ") + k + " " + val;
  out += "versions: " + v + "\n";
  const Counts& c = s.json_counts;
  out += "cases: " + std::to_string(c.tests) + " (" + std::to_string(c.passed) + " passed, " +
         std::to_string(c.failures) + " failed, " + std::to_string(c.errors) + " errors, " +
         std::to_string(c.skipped) + " skipped)" + (s.partial ? ", partial run" : "") + "\n";
  out += CertificationText(s.certification);
  return out;
}

}  // namespace drahil::reports
