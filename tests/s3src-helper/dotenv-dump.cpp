// dotenv-dump.cpp: prints what the C++ .env parser makes of files, one line per fact, each
// starting with the file name, as tests/s3src-helper/test-dotenv-diff.sh prints the view of
// scripts/lib/config.sh ("F status N", "F <error line>", "F KEY HEXVALUE" for the last value).
// Usage: dotenv-dump KNOWN_NAMES_FILE ENV_FILE...
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "dotenv.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: dotenv-dump KNOWN_NAMES_FILE ENV_FILE...\n");
    return 2;
  }
  std::vector<std::string> known;
  std::ifstream names(argv[1]);
  for (std::string line; std::getline(names, line);)
    known.push_back(line);
  for (int i = 2; i < argc; ++i) {
    s3::DotenvFile file;
    std::vector<std::string> errors;
    const bool ok = s3::read_dotenv(argv[i], &file, &errors, known);
    std::printf("%s status %d\n", argv[i], ok ? 0 : 2);
    for (const auto &e : errors)
      std::printf("%s %s\n", argv[i], e.c_str());
    std::map<std::string, std::string> last;  // sorted by key, the last line wins
    for (const auto &e : file.entries)
      last[e.key] = e.value;
    for (const auto &[key, value] : last) {
      std::printf("%s %s ", argv[i], key.c_str());
      for (unsigned char c : value)
        std::printf("%02x", c);
      std::printf("\n");
    }
  }
  return 0;
}
