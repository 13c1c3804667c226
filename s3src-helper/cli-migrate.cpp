// cli-migrate.cpp: the `migrate` verb (placeholder until its owner lands it).
#include "cli.h"

int cli::run_migrate(const std::vector<std::string> &) {
  print_error("migrate: not built yet");
  return kExitFailure;
}
