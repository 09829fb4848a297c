// The commit a build comes from, without making every commit rebuild the package:
// `scripts/stamp-commit.sh` (run by the Makefile) writes commit.c beside this file (git ignores
// it) with a strong definition, which the linker prefers to this weak one. A plain `swift build`
// or a source tarball gets "" and the version alone.
#include "CBuildInfo.h"

__attribute__((weak)) const char *evaluatord_build_commit(void) { return ""; }
