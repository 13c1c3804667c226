// cli-pending.cpp: the `pending` verb (placeholder until its owner lands it).
#include "cli.h"

int cli::run_pending(const std::vector<std::string> &) {
  print_error("pending: not built yet");
  return kExitFailure;
}
