/* Deliberately never frees a loaded state: valgrind must report it
 * (crates/agentdb-capi/tests/c_example.rs checks that it does). */
#include <stdio.h>
#include "agent_db.h"

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  AgentDbOptions opts;
  agent_db_options_default(&opts);
  opts.maintenance_interval_ms = 0;
  AgentDb *db = NULL;
  if (agent_db_open(argv[1], &opts, &db) != AGENT_DB_OK) return 1;
  if (agent_db_save_state(db, 1, 1, AGENT_DB_STATE_CONTEXT, (const uint8_t *)"leak", 4, NULL, NULL) != AGENT_DB_OK) return 1;
  AgentDbState *state = NULL;
  if (agent_db_load_state(db, 1, 1, &state) != AGENT_DB_OK) return 1;
  printf("loaded version %llu and never freed it\n", (unsigned long long)state->version);
  state = NULL;
  return agent_db_close(db) == AGENT_DB_OK ? 0 : 1;
}
