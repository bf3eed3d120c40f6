/* version.c - the only object that knows the version string, so a new version rebuilds one file. */
#include "common.h"

#ifndef AGENT_VERSION
#define AGENT_VERSION "0.0.0-dev"
#endif

const char agent_version[] = AGENT_VERSION;
const char agent_user_agent[] = "spilo-agent/" AGENT_VERSION;
