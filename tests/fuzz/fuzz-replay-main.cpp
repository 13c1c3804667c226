// fuzz-replay-main.cpp: a main() for builds without libFuzzer: feeds every file named on the
// command line (folders: every file in them) to LLVMFuzzerTestOneInput once, so the seed corpora
// and kept reproducers run as plain regression tests in the unit suite.
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size);

namespace {

int run_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz-replay: cannot read %s\n", path.c_str());
    return 1;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size());
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  int failures = 0, inputs = 0;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (!arg.empty() && arg[0] == '-')
      continue;  // libFuzzer flags are accepted and ignored
    struct stat st;
    if (stat(arg.c_str(), &st) != 0) {
      std::fprintf(stderr, "fuzz-replay: no such file or folder: %s\n", arg.c_str());
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      failures += run_file(arg);
      inputs++;
      continue;
    }
    std::unique_ptr<DIR, int (*)(DIR *)> dir(opendir(arg.c_str()), closedir);
    std::vector<std::string> names;
    while (dirent *ent = dir ? readdir(dir.get()) : nullptr)
      if (ent->d_name[0] != '.')
        names.push_back(arg + "/" + ent->d_name);
    for (const std::string &name : names) {
      failures += run_file(name);
      inputs++;
    }
  }
  std::printf("fuzz-replay: %d inputs replayed without a crash\n", inputs - failures);
  return failures == 0 && inputs > 0 ? 0 : 1;
}
