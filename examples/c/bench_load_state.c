/* Hot load_state through the C ABI: the per-call cost a C/Zig/Go caller
 * pays. Run by `agentdb-bench --suites ffi` beside the same loop in Rust.
 *   usage: bench_load_state DB_DIR CALLS PAYLOAD_BYTES
 * prints: ns_per_call=<float> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_db.h"

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  long calls = atol(argv[2]);
  size_t payload = (size_t)atol(argv[3]);
  AgentDbOptions opts;
  agent_db_options_default(&opts);
  opts.maintenance_interval_ms = 0;
  AgentDb *db = NULL;
  if (agent_db_open(argv[1], &opts, &db) != AGENT_DB_OK) {
    fprintf(stderr, "open: %s\n", agent_db_last_error_message());
    return 1;
  }
  unsigned char *data = calloc(payload ? payload : 1, 1);
  if (agent_db_save_state(db, 1, 1, AGENT_DB_STATE_CONTEXT, data, payload, NULL, NULL) != AGENT_DB_OK) return 1;
  AgentDbState *st = NULL;
  if (agent_db_load_state(db, 1, 1, &st) != AGENT_DB_OK) return 1; /* warm the cache */
  agent_db_state_free(st);
  unsigned long long sum = 0;
  double start = now_ns();
  for (long i = 0; i < calls; i++) {
    if (agent_db_load_state(db, 1, 1, &st) != AGENT_DB_OK) return 1;
    sum += st->data_len; /* touch the result as a caller would */
    agent_db_state_free(st);
  }
  double elapsed = now_ns() - start;
  if (sum != (unsigned long long)calls * payload) return 1;
  printf("ns_per_call=%.1f\n", elapsed / (double)calls);
  free(data);
  return agent_db_close(db) == AGENT_DB_OK ? 0 : 1;
}
