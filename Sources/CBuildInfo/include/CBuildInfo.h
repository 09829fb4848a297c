#ifndef CBUILDINFO_H
#define CBUILDINFO_H
/// The git commit this build was made from ("" when not built from a checkout).
const char *evaluatord_build_commit(void);
#endif
