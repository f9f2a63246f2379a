#include "plugins/loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace aia {
namespace {

using ApiVersionFn = int (*)();
using TextFn = const char* (*)();
using RegisterFn = void (*)(PluginRegistrar*);

// The most of a crashed probe's stderr an error quotes.
constexpr size_t kMaxQuotedOutput = 2000;
// Plugin, algorithm and problem names: short and printable.
constexpr size_t kMaxNameLength = 128;

// Every library this process loaded.
std::vector<PluginOrigin>& LoadedLibraries() {
  static auto* libraries = new std::vector<PluginOrigin>();
  return *libraries;
}

absl::Status PluginError(const std::string& path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("plugin ", path, ": ", message));
}

// The "*.so" files of `dir`, sorted; NotFound when `dir` does not exist.
absl::StatusOr<std::vector<std::string>> LibrariesIn(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    const int error = errno;
    const std::string message = absl::StrCat("plugin directory ", dir, ": ", std::strerror(error));
    return error == ENOENT ? absl::NotFoundError(message) : absl::InvalidArgumentError(message);
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("plugin directory ", dir, ": not a directory"));
  }
  DIR* listing = opendir(dir.c_str());
  if (listing == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("plugin directory ", dir, ": ", std::strerror(errno)));
  }
  std::vector<std::string> files;
  while (const dirent* entry = readdir(listing)) {
    const std::string name = entry->d_name;
    if (!absl::EndsWith(name, ".so")) continue;
    const std::string path = absl::StrCat(dir, "/", name);
    struct stat file;
    if (stat(path.c_str(), &file) == 0 && S_ISREG(file.st_mode)) files.push_back(path);
  }
  closedir(listing);
  std::sort(files.begin(), files.end());
  return files;
}

// Loads `path` in a forked child and runs its registration there: OK unless the
// child dies of it (a signal, an abort inside a library), in which case the error
// quotes what it printed. Errors that are not crashes are left to the real load.
absl::Status Probe(const std::string& path) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  std::fflush(nullptr);
  const pid_t child = fork();
  if (child < 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (child == 0) {
    dup2(pipe_fds[1], STDERR_FILENO);
    dup2(pipe_fds[1], STDOUT_FILENO);
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle != nullptr) {
      auto version = reinterpret_cast<ApiVersionFn>(dlsym(handle, AIA_PLUGIN_API_VERSION_SYMBOL));
      auto add = reinterpret_cast<RegisterFn>(dlsym(handle, AIA_PLUGIN_REGISTER_SYMBOL));
      if (version != nullptr && add != nullptr && version() == kPluginApiVersion) {
        PluginRegistrar registrar;
        try {
          add(&registrar);
        } catch (...) {
        }
      }
    }
    _exit(0);
  }
  close(pipe_fds[1]);
  std::string output;
  char buffer[4096];
  while (true) {
    const ssize_t n = read(pipe_fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
    if (output.size() > 2 * kMaxQuotedOutput) output.erase(0, output.size() - kMaxQuotedOutput);
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  if (output.size() > kMaxQuotedOutput) output.erase(0, output.size() - kMaxQuotedOutput);
  const std::string how = WIFSIGNALED(status)
                              ? absl::StrCat("signal ", WTERMSIG(status), " (",
                                             strsignal(WTERMSIG(status)), ")")
                              : absl::StrCat("exit code ", WEXITSTATUS(status));
  return PluginError(path, absl::StrCat("loading it ended the process (", how, ")",
                                        output.empty() ? "" : "; it printed: ",
                                        absl::StripAsciiWhitespace(output)));
}

// A name a plugin gives (itself, an algorithm, a problem): non-empty, at most
// kMaxNameLength printable ASCII characters without spaces.
bool ValidName(const char* text) {
  if (text == nullptr) return false;
  const absl::string_view name(text, strnlen(text, kMaxNameLength + 1));
  if (name.empty() || name.size() > kMaxNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c < 127; });
}

// Whether `name` is taken; `where` says by what.
bool Taken(PluginKind kind, const std::string& name, std::string* where) {
  if (const PluginEntry* entry = Plugins().Find(kind, name)) {
    *where = absl::StrCat("also in ", entry->origin.library);
    return true;
  }
  const bool built_in = kind == PluginKind::kAlgorithm ? AlgorithmRegistry().Find(name).ok()
                                                       : ProblemRegistry().Find(name).ok();
  if (built_in) *where = "built into aia";
  return built_in;
}

// `digest` is the file's FileDigest, computed once by the caller.
absl::StatusOr<LoadedPlugin> Load(const std::string& path, const std::string& digest) {
  RETURN_IF_ERROR(Probe(path));
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    return PluginError(path, absl::StrCat("cannot be loaded: ", error ? error : "dlopen failed"));
  }
  auto version = reinterpret_cast<ApiVersionFn>(dlsym(handle, AIA_PLUGIN_API_VERSION_SYMBOL));
  auto name = reinterpret_cast<TextFn>(dlsym(handle, AIA_PLUGIN_NAME_SYMBOL));
  auto plugin_version = reinterpret_cast<TextFn>(dlsym(handle, AIA_PLUGIN_VERSION_SYMBOL));
  auto add = reinterpret_cast<RegisterFn>(dlsym(handle, AIA_PLUGIN_REGISTER_SYMBOL));
  for (const auto& [symbol, found] :
       {std::pair<const char*, bool>{AIA_PLUGIN_API_VERSION_SYMBOL, version != nullptr},
        {AIA_PLUGIN_NAME_SYMBOL, name != nullptr},
        {AIA_PLUGIN_VERSION_SYMBOL, plugin_version != nullptr},
        {AIA_PLUGIN_REGISTER_SYMBOL, add != nullptr}}) {
    if (!found) {
      return PluginError(path, absl::StrCat("has no symbol ", symbol,
                                            " (an aia plugin defines AIA_PLUGIN, sdk/plugin.h)"));
    }
  }
  if (version() != kPluginApiVersion) {
    return PluginError(path, absl::StrCat("was built for plugin API version ", version(),
                                          "; this aia has version ", kPluginApiVersion,
                                          " (rebuild it against this aia's SDK)"));
  }
  if (!ValidName(name()) || !ValidName(plugin_version())) {
    return PluginError(path, absl::StrCat("its AIA_PLUGIN name and version must be 1 to ",
                                          kMaxNameLength, " printable characters"));
  }
  LoadedPlugin loaded;
  loaded.origin.library = path;
  loaded.origin.plugin = name();
  loaded.origin.version = plugin_version();
  loaded.origin.digest = digest;
  PluginRegistrar registrar;
  try {
    add(&registrar);
  } catch (const std::exception& e) {
    return PluginError(path, absl::StrCat("its registration threw: ", e.what()));
  } catch (...) {
    return PluginError(path, "its registration threw");
  }
  // Every name is checked before any is added, so a refused library adds none.
  std::set<std::pair<PluginKind, std::string>> names;
  auto check = [&](PluginKind kind, const std::string& added) -> absl::Status {
    const absl::string_view what = PluginKindName(kind);
    if (!ValidName(added.c_str())) {
      return PluginError(path, absl::StrCat("registers an ", what, " name that is empty, longer than ",
                                            kMaxNameLength, " or not printable"));
    }
    std::string where;
    if (Taken(kind, added, &where) || !names.insert({kind, added}).second) {
      if (where.empty()) where = "registered twice by it";
      return PluginError(path, absl::StrCat(what, " '", added, "' is ", where));
    }
    return absl::OkStatus();
  };
  for (const auto& added : registrar.algorithms()) {
    RETURN_IF_ERROR(check(PluginKind::kAlgorithm, added.name));
  }
  for (const auto& added : registrar.problems()) {
    RETURN_IF_ERROR(check(PluginKind::kProblem, added.name));
  }
  for (const auto& added : registrar.algorithms()) {
    RETURN_IF_ERROR(AlgorithmRegistry().Register(added.name, added.factory));
    Plugins().Add(PluginKind::kAlgorithm, added.name, {loaded.origin, added.params});
    loaded.algorithms.push_back(added.name);
  }
  for (const auto& added : registrar.problems()) {
    RETURN_IF_ERROR(ProblemRegistry().Register(added.name, added.factory));
    Plugins().Add(PluginKind::kProblem, added.name, {loaded.origin, added.params});
    loaded.problems.push_back(added.name);
  }
  return loaded;
}

}  // namespace

absl::StatusOr<std::string> FileDigest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot be read"));
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
  char buffer[1 << 16];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    EVP_DigestUpdate(context, buffer, static_cast<size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(context, digest, &size);
  EVP_MD_CTX_free(context);
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat(path, ": read failed"));
  std::string hex = "sha256:";
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

absl::StatusOr<std::vector<LoadedPlugin>> LoadPlugins(const std::vector<std::string>& dirs,
                                                      const std::string& default_dir) {
  std::vector<std::string> files;
  for (const std::string& dir : dirs) {
    absl::StatusOr<std::vector<std::string>> in_dir = LibrariesIn(dir);
    if (!in_dir.ok()) return absl::InvalidArgumentError(in_dir.status().message());
    files.insert(files.end(), in_dir->begin(), in_dir->end());
  }
  if (!default_dir.empty()) {
    absl::StatusOr<std::vector<std::string>> in_dir = LibrariesIn(default_dir);
    if (in_dir.ok()) {
      files.insert(files.end(), in_dir->begin(), in_dir->end());
    } else if (in_dir.status().code() != absl::StatusCode::kNotFound) {
      return in_dir.status();
    }
  }
  std::vector<LoadedPlugin> loaded;
  std::set<std::string> seen;  // real paths: a directory named twice loads once
  for (const std::string& file : files) {
    char* real = realpath(file.c_str(), nullptr);
    const std::string key = real != nullptr ? real : file;
    std::free(real);
    if (!seen.insert(key).second) continue;
    // A copy of a library already loaded (the same plugin in two directories)
    // would register every name again.
    ASSIGN_OR_RETURN(const std::string digest, FileDigest(file));
    for (const PluginOrigin& other : LoadedLibraries()) {
      if (other.digest == digest) {
        return PluginError(file, absl::StrCat("is a copy of ", other.library,
                                              ", loaded already (plugin ", other.plugin,
                                              " in two directories)"));
      }
    }
    ASSIGN_OR_RETURN(LoadedPlugin plugin, Load(file, digest));
    LoadedLibraries().push_back(plugin.origin);
    loaded.push_back(std::move(plugin));
  }
  return loaded;
}

}  // namespace aia
