/*
 * Exercises every function of the AgentDB C ABI against a real database:
 * an example of the API and, run by crates/agentdb-capi/tests/c_example.rs
 * (under valgrind when installed), the C surface's test. Any failed CHECK
 * exits with status 1 and says which line.
 *
 *   cc -Wall -Wextra -Werror -I include examples/c/agent_db_example.c \
 *      -L target/debug -lagentdb -Wl,-rpath,target/debug -lpthread -o example
 *   ./example /tmp/agentdb-c-example
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_db.h"

static int checks = 0;
#define CHECK(cond)                                                              \
  do {                                                                           \
    checks++;                                                                    \
    if (!(cond)) {                                                               \
      fprintf(stderr, "CHECK failed at %s:%d: %s (last error: %s)\n", __FILE__, \
              __LINE__, #cond, agent_db_last_error_message());                   \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)
#define OK(call) CHECK((call) == AGENT_DB_OK)
#define FAILS_WITH(call, status)                              \
  do {                                                        \
    AgentDbStatus s_ = (call);                                \
    CHECK(s_ == (status));                                    \
    CHECK(strlen(agent_db_last_error_message()) > 0);         \
  } while (0)

#define DIM 384 /* the built-in model's dimension */

static void unit_vector(float *v, size_t n, unsigned seed) {
  double norm = 0;
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    v[i] = (float)((seed >> 8) % 2000) / 1000.0f - 1.0f;
    norm += (double)v[i] * v[i];
  }
  for (size_t i = 0; i < n; i++) v[i] = (float)(v[i] / sqrt(norm));
}

/* Reads a whole Arrow stream, returns the number of rows and columns. */
static int64_t arrow_rows(struct ArrowArrayStream *stream, int64_t *columns) {
  struct ArrowSchema schema;
  CHECK(stream->get_schema(stream, &schema) == 0);
  *columns = schema.n_children;
  schema.release(&schema);
  int64_t rows = 0;
  for (;;) {
    struct ArrowArray array;
    CHECK(stream->get_next(stream, &array) == 0);
    if (array.release == NULL) break; /* end of stream */
    rows += array.length;
    array.release(&array);
  }
  stream->release(stream);
  return rows;
}

static void states(AgentDb *db) {
  uint64_t version = 0;
  const char *hello = "{\"step\":1}";
  OK(agent_db_save_state(db, 7, 1, AGENT_DB_STATE_CONTEXT, (const uint8_t *)hello, strlen(hello), NULL, &version));
  CHECK(version == 1);
  OK(agent_db_save_state(db, 7, 1, AGENT_DB_STATE_TASK_STATE, (const uint8_t *)"two", 3, "{\"k\":\"v\"}", &version));
  CHECK(version == 2);
  OK(agent_db_save_state(db, 7, 2, AGENT_DB_STATE_CONTEXT, NULL, 0, NULL, NULL)); /* empty payload, no out */

  AgentDbState *st = NULL;
  OK(agent_db_load_state(db, 7, 1, &st));
  CHECK(st->version == 2 && st->data_len == 3 && memcmp(st->data, "two", 3) == 0);
  CHECK(st->state_type == AGENT_DB_STATE_TASK_STATE);
  CHECK(strcmp(st->metadata_json, "{\"k\":\"v\"}") == 0);
  CHECK(st->checksum != 0 && st->timestamp_ms > 0);
  agent_db_state_free(st);

  OK(agent_db_load_latest_state(db, 7, &st));
  CHECK(st->session_id == 2 && st->data_len == 0);
  agent_db_state_free(st);

  OK(agent_db_load_state_version(db, 7, 1, 1, &st));
  CHECK(st->data_len == strlen(hello) && memcmp(st->data, hello, st->data_len) == 0);
  agent_db_state_free(st);

  st = (AgentDbState *)0x1; /* out-pointers are written only on success */
  FAILS_WITH(agent_db_load_state_version(db, 7, 1, 99, &st), AGENT_DB_NOT_FOUND);
  CHECK(st == (AgentDbState *)0x1);
  CHECK(strcmp(agent_db_status_name(AGENT_DB_NOT_FOUND), "not_found") == 0);
  CHECK(strcmp(agent_db_status_name(AGENT_DB_OK), "ok") == 0);
  CHECK(strcmp(agent_db_status_name(AGENT_DB_PANIC), "panic") == 0);
  CHECK(strcmp(agent_db_status_name(AGENT_DB_CANCELLED), "cancelled") == 0);
  /* Any number is safe to pass: one that is no status has a documented name. */
  const uint32_t not_statuses[] = {16, 17, 100, 9999, UINT32_MAX};
  for (size_t i = 0; i < sizeof not_statuses / sizeof not_statuses[0]; i++)
    CHECK(strcmp(agent_db_status_name(not_statuses[i]), "unknown_status") == 0);
  for (uint32_t code = AGENT_DB_OK; code <= AGENT_DB_CANCELLED; code++)
    CHECK(strcmp(agent_db_status_name(code), "unknown_status") != 0);
  FAILS_WITH(agent_db_load_state(db, 404, 1, &st), AGENT_DB_NOT_FOUND);

  AgentDbHistoryQuery q;
  OK(agent_db_history_query_init(7, &q));
  q.session_id = 1;
  q.has_session = true;
  AgentDbStateList *hist = NULL;
  OK(agent_db_query_history(db, &q, &hist));
  CHECK(hist->len == 2 && hist->items[0].version == 2 && hist->items[1].version == 1);
  agent_db_state_list_free(hist);
  q.limit = 0;
  FAILS_WITH(agent_db_query_history(db, &q, &hist), AGENT_DB_INVALID_ARGUMENT);
  q.limit = 10;
  q.has_session = false;
  struct ArrowArrayStream stream;
  OK(agent_db_query_history_arrow(db, &q, &stream));
  int64_t cols = 0;
  CHECK(arrow_rows(&stream, &cols) == 3 && cols == 9);

  AgentDbSnapshot *snap = NULL;
  OK(agent_db_create_snapshot(db, 7, 1, "before-tool", &snap));
  CHECK(snap->version == 2 && strcmp(snap->name, "before-tool") == 0);
  agent_db_snapshot_free(snap);
  FAILS_WITH(agent_db_create_snapshot(db, 7, 1, "before-tool", NULL), AGENT_DB_ALREADY_EXISTS);
  FAILS_WITH(agent_db_create_snapshot(db, 7, 1, "bad name!", NULL), AGENT_DB_INVALID_ARGUMENT);
  OK(agent_db_save_state(db, 7, 1, AGENT_DB_STATE_CONTEXT, (const uint8_t *)"three", 5, NULL, NULL));
  OK(agent_db_restore_snapshot(db, 7, "before-tool", &st));
  CHECK(st->version == 4 && st->data_len == 3 && memcmp(st->data, "two", 3) == 0);
  agent_db_state_free(st);
  AgentDbSnapshotList *snaps = NULL;
  OK(agent_db_list_snapshots(db, 7, &snaps));
  CHECK(snaps->len == 1 && strcmp(snaps->items[0].name, "before-tool") == 0);
  agent_db_snapshot_list_free(snaps);

  /* Bad input: typed errors, nothing written. */
  FAILS_WITH(agent_db_save_state(db, 7, 1, 99, (const uint8_t *)"x", 1, NULL, NULL), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_save_state(db, 7, 1, AGENT_DB_STATE_EMBEDDING + 1, (const uint8_t *)"x", 1, NULL, NULL),
             AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_save_state(db, 7, 1, UINT32_MAX, (const uint8_t *)"x", 1, NULL, NULL), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_save_state(db, 7, 1, AGENT_DB_STATE_CONTEXT, NULL, 5, NULL, NULL), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_save_state(db, 7, 1, AGENT_DB_STATE_CONTEXT, (const uint8_t *)"x", 1, "[1,2]", NULL),
             AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_save_state(NULL, 7, 1, AGENT_DB_STATE_CONTEXT, (const uint8_t *)"x", 1, NULL, NULL),
             AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_create_snapshot(db, 7, 1, "\xff\xfe", NULL), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_load_state(db, 7, 1, NULL), AGENT_DB_INVALID_ARGUMENT);
  OK(agent_db_load_state(db, 7, 1, &st));
  CHECK(st->version == 4);
  agent_db_state_free(st);

  OK(agent_db_save_state(db, 8, 1, AGENT_DB_STATE_CONTEXT, (const uint8_t *)"bye", 3, NULL, NULL));
  OK(agent_db_delete_agent(db, 8));
  FAILS_WITH(agent_db_load_latest_state(db, 8, &st), AGENT_DB_NOT_FOUND);
  FAILS_WITH(agent_db_delete_agent(db, 8), AGENT_DB_NOT_FOUND);
}

/* Keyed versions: save with a key, load the newest version carrying it, walk history in pages. */
static void keyed_states(AgentDb *db) {
  const char *quoted = "it's \"quoted\" ' OR 1=1 --"; /* compared exactly, never pasted into a filter */
  uint64_t version = 0;
  OK(agent_db_save_state_keyed(db, 9, 1, "ck-1", AGENT_DB_STATE_TASK_STATE, (const uint8_t *)"one", 3,
                               "{\"step\":\"1\"}", &version));
  CHECK(version == 1);
  OK(agent_db_save_state(db, 9, 1, AGENT_DB_STATE_CONTEXT, (const uint8_t *)"two", 3, NULL, &version));
  OK(agent_db_save_state_keyed(db, 9, 1, quoted, AGENT_DB_STATE_CONTEXT, NULL, 0, NULL, NULL)); /* no out */
  OK(agent_db_save_state_keyed(db, 9, 2, "ck-1", AGENT_DB_STATE_CONTEXT, (const uint8_t *)"other", 5, NULL, NULL));

  AgentDbState *st = NULL;
  OK(agent_db_load_state_by_key(db, 9, 1, "ck-1", &st));
  CHECK(st->version == 1 && st->session_id == 1 && st->data_len == 3 && memcmp(st->data, "one", 3) == 0);
  CHECK(st->state_type == AGENT_DB_STATE_TASK_STATE && strcmp(st->key, "ck-1") == 0);
  CHECK(strcmp(st->metadata_json, "{\"step\":\"1\"}") == 0);
  agent_db_state_free(st);
  OK(agent_db_load_state_by_key(db, 9, 1, quoted, &st));
  CHECK(st->version == 3 && st->data_len == 0 && strcmp(st->key, quoted) == 0);
  agent_db_state_free(st);
  OK(agent_db_load_state(db, 9, 1, &st)); /* every read carries the key */
  CHECK(st->version == 3 && strcmp(st->key, quoted) == 0);
  agent_db_state_free(st);
  OK(agent_db_load_state_version(db, 9, 1, 2, &st));
  CHECK(st->key == NULL);
  agent_db_state_free(st);

  st = (AgentDbState *)0x1;
  FAILS_WITH(agent_db_load_state_by_key(db, 9, 1, "ck-", &st), AGENT_DB_NOT_FOUND); /* no prefix match */
  FAILS_WITH(agent_db_load_state_by_key(db, 9, 1, "CK-1", &st), AGENT_DB_NOT_FOUND);
  FAILS_WITH(agent_db_load_state_by_key(db, 9, 3, "ck-1", &st), AGENT_DB_NOT_FOUND);
  FAILS_WITH(agent_db_load_state_by_key(db, 9, 1, "", &st), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_load_state_by_key(db, 9, 1, NULL, &st), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_load_state_by_key(db, 9, 1, "\xff\xfe", &st), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_load_state_by_key(NULL, 9, 1, "ck-1", &st), AGENT_DB_INVALID_ARGUMENT);
  CHECK(st == (AgentDbState *)0x1);
  FAILS_WITH(agent_db_load_state_by_key(db, 9, 1, "ck-1", NULL), AGENT_DB_INVALID_ARGUMENT);

  AgentDbStateList *page = NULL;
  OK(agent_db_state_history_page(db, 9, 1, UINT64_MAX, 2, &page));
  CHECK(page->len == 2 && page->items[0].version == 3 && page->items[1].version == 2);
  CHECK(strcmp(page->items[0].key, quoted) == 0 && page->items[1].key == NULL);
  CHECK(page->items[1].data_len == 3 && memcmp(page->items[1].data, "two", 3) == 0);
  uint64_t cursor = page->items[page->len - 1].version;
  agent_db_state_list_free(page);
  OK(agent_db_state_history_page(db, 9, 1, cursor, 2, &page));
  CHECK(page->len == 1 && page->items[0].version == 1 && strcmp(page->items[0].key, "ck-1") == 0);
  agent_db_state_list_free(page);
  OK(agent_db_state_history_page(db, 9, 1, 1, 100, &page));
  CHECK(page->len == 0);
  agent_db_state_list_free(page);
  OK(agent_db_state_history_page(db, 404, 1, UINT64_MAX, 100, &page)); /* unknown session: empty */
  CHECK(page->len == 0);
  agent_db_state_list_free(page);
  page = (AgentDbStateList *)0x1;
  FAILS_WITH(agent_db_state_history_page(db, 9, 1, UINT64_MAX, 0, &page), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_state_history_page(db, 9, 1, UINT64_MAX, 100001, &page), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_state_history_page(NULL, 9, 1, UINT64_MAX, 10, &page), AGENT_DB_INVALID_ARGUMENT);
  CHECK(page == (AgentDbStateList *)0x1);
  FAILS_WITH(agent_db_state_history_page(db, 9, 1, UINT64_MAX, 10, NULL), AGENT_DB_INVALID_ARGUMENT);

  /* Bad keys: typed errors, nothing written. */
  char long_key[1026];
  memset(long_key, 'k', sizeof long_key - 1);
  long_key[sizeof long_key - 1] = '\0'; /* 1025 bytes: one over the limit */
  version = 42;
  FAILS_WITH(agent_db_save_state_keyed(db, 9, 1, long_key, AGENT_DB_STATE_CONTEXT, NULL, 0, NULL, &version),
             AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_save_state_keyed(db, 9, 1, "", AGENT_DB_STATE_CONTEXT, NULL, 0, NULL, &version),
             AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_save_state_keyed(db, 9, 1, NULL, AGENT_DB_STATE_CONTEXT, NULL, 0, NULL, &version),
             AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_save_state_keyed(db, 9, 1, "\xff\xfe", AGENT_DB_STATE_CONTEXT, NULL, 0, NULL, &version),
             AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_save_state_keyed(db, 9, 1, "ck-2", 99, NULL, 0, NULL, &version), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_save_state_keyed(db, 9, 1, "ck-2", AGENT_DB_STATE_CONTEXT, NULL, 5, NULL, &version),
             AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_save_state_keyed(NULL, 9, 1, "ck-2", AGENT_DB_STATE_CONTEXT, NULL, 0, NULL, &version),
             AGENT_DB_INVALID_ARGUMENT);
  CHECK(version == 42);
  long_key[sizeof long_key - 2] = '\0'; /* 1024 bytes: the limit itself */
  OK(agent_db_save_state_keyed(db, 9, 1, long_key, AGENT_DB_STATE_CONTEXT, NULL, 0, NULL, &version));
  CHECK(version == 4);

  /* From Lance after a flush, and a reused key finds its newest version. */
  OK(agent_db_flush(db));
  OK(agent_db_load_state_by_key(db, 9, 1, long_key, &st));
  CHECK(st->version == 4 && strlen(st->key) == 1024);
  agent_db_state_free(st);
  OK(agent_db_save_state_keyed(db, 9, 1, "ck-1", AGENT_DB_STATE_CONTEXT, (const uint8_t *)"five", 4, NULL, &version));
  CHECK(version == 5);
  OK(agent_db_load_state_by_key(db, 9, 1, "ck-1", &st));
  CHECK(st->version == 5 && st->data_len == 4 && memcmp(st->data, "five", 4) == 0);
  agent_db_state_free(st);
  OK(agent_db_load_state_by_key(db, 9, 1, quoted, &st));
  CHECK(st->version == 3);
  agent_db_state_free(st);
  OK(agent_db_state_history_page(db, 9, 1, UINT64_MAX, 10, &page));
  CHECK(page->len == 5);
  for (size_t i = 0; i < page->len; i++) CHECK(page->items[i].version == 5 - i);
  CHECK(page->items[1].key != NULL && strlen(page->items[1].key) == 1024 && page->items[3].key == NULL);
  agent_db_state_list_free(page);
}

static void memories(AgentDb *db) {
  float v[DIM];
  unit_vector(v, DIM, 1);
  AgentDbNewMemory m = {0};
  m.agent_id = 7;
  m.memory_type = AGENT_DB_MEMORY_SEMANTIC;
  m.importance = 0.9f;
  m.content = "The user prefers green tea";
  m.embedding = v;
  m.embedding_len = DIM;
  m.metadata_json = "{\"source\":\"chat\"}";
  uint64_t id_tea = 0;
  OK(agent_db_store_memory(db, &m, &id_tea));

  /* Without an embedding the built-in model embeds the content. */
  AgentDbNewMemory batch[2] = {0};
  batch[0].agent_id = 7;
  batch[0].memory_type = AGENT_DB_MEMORY_EPISODIC;
  batch[0].importance = 0.3f;
  batch[0].content = "We deployed the billing service on Tuesday";
  batch[1] = batch[0];
  batch[1].content = "The user dislikes coffee";
  batch[1].ttl_ms = 3600 * 1000;
  uint64_t ids[2] = {0, 0};
  OK(agent_db_store_memories(db, batch, 2, ids));
  CHECK(ids[0] > id_tea && ids[1] > ids[0]);

  AgentDbMemory *mem = NULL;
  OK(agent_db_get_memory(db, ids[1], &mem));
  CHECK(strcmp(mem->content, "The user dislikes coffee") == 0 && mem->has_expiry && mem->embedding_len == DIM);
  CHECK(mem->memory_type == AGENT_DB_MEMORY_EPISODIC);
  agent_db_memory_free(mem);

  OK(agent_db_update_memory_importance(db, ids[0], 0.6f));
  FAILS_WITH(agent_db_update_memory_importance(db, ids[0], 1.5f), AGENT_DB_INVALID_ARGUMENT);

  AgentDbScoredMemoryList *hits = NULL;
  OK(agent_db_retrieve_memories(db, 7, "what does the user like to drink?", 3, NULL, &hits));
  CHECK(hits->len == 3);
  for (size_t i = 1; i < hits->len; i++) CHECK(hits->items[i - 1].score >= hits->items[i].score);
  agent_db_scored_memory_list_free(hits);

  AgentDbRetrieveOptions opts;
  OK(agent_db_retrieve_options_default(&opts));
  opts.memory_types_mask = 1u << AGENT_DB_MEMORY_SEMANTIC;
  opts.metadata_json = "{\"source\":\"chat\"}";
  OK(agent_db_retrieve_memories_by_vector(db, 7, v, DIM, 5, &opts, &hits));
  CHECK(hits->len == 1 && hits->items[0].memory.memory_id == id_tea && hits->items[0].relevance > 0.99f);
  agent_db_scored_memory_list_free(hits);
  FAILS_WITH(agent_db_retrieve_memories_by_vector(db, 7, v, 3, 5, NULL, &hits), AGENT_DB_DIMENSION_MISMATCH);
  opts.memory_types_mask = 1u << 9;
  FAILS_WITH(agent_db_retrieve_memories_by_vector(db, 7, v, DIM, 5, &opts, &hits), AGENT_DB_INVALID_ARGUMENT);

  struct ArrowArrayStream stream;
  int64_t cols = 0;
  OK(agent_db_retrieve_memories_arrow(db, 7, "coffee", 2, NULL, &stream));
  CHECK(arrow_rows(&stream, &cols) == 2 && cols == 14);

  AgentDbMemoryList *all = NULL;
  OK(agent_db_list_memories(db, 7, &all));
  CHECK(all->len == 3 && all->items[0].memory_id == id_tea);
  CHECK(all->items[0].access_count >= 1); /* retrievals count as accesses */
  agent_db_memory_list_free(all);

  /* Dedup: storing the same fact again refreshes it instead of adding a row. */
  AgentDbStoreOutcome *outcome = NULL;
  AgentDbNewMemory again = m;
  again.content = "  the user PREFERS green tea ";
  OK(agent_db_store_memory_outcome(db, &again, &outcome));
  CHECK(outcome->kind == AGENT_DB_STORE_DUPLICATE && outcome->memory_id == id_tea && outcome->absorbed_len == 0);
  agent_db_store_outcome_free(outcome);
  OK(agent_db_pin_memory(db, id_tea));
  OK(agent_db_get_memory(db, id_tea, &mem));
  CHECK(mem->pinned && mem->access_count >= 1);
  agent_db_memory_free(mem);
  char *report = NULL;
  OK(agent_db_consolidate_memories(db, 7, &report));
  CHECK(strstr(report, "\"agent_id\":7") != NULL && strstr(report, "\"remaining\"") != NULL);
  agent_db_string_free(report);
  FAILS_WITH(agent_db_pin_memory(db, 999999), AGENT_DB_NOT_FOUND);

  uint64_t forgotten = 99;
  OK(agent_db_forget_memories(db, 7, 0, 1.0f, 1000, &forgotten)); /* the pinned one stays */
  CHECK(forgotten == 2);
  OK(agent_db_get_memory(db, id_tea, &mem));
  agent_db_memory_free(mem);
  OK(agent_db_unpin_memory(db, id_tea));
  OK(agent_db_forget_memories(db, 7, 0, 1.0f, 1000, &forgotten)); /* everything below importance 1 */
  CHECK(forgotten == 1);
  OK(agent_db_store_memory(db, &m, &id_tea));
  OK(agent_db_delete_memory(db, id_tea));
  FAILS_WITH(agent_db_get_memory(db, id_tea, &mem), AGENT_DB_NOT_FOUND);
  m.content = NULL;
  FAILS_WITH(agent_db_store_memory(db, &m, &id_tea), AGENT_DB_INVALID_ARGUMENT);

  /* A memory type that names no AGENT_DB_MEMORY_* is refused by every store call; nothing is stored. */
  m.content = "Out-of-range type";
  const uint32_t bad_types[] = {AGENT_DB_MEMORY_WORKING + 1, 100, UINT32_MAX};
  for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
    m.memory_type = bad_types[i];
    uint64_t unchanged = 42;
    FAILS_WITH(agent_db_store_memory(db, &m, &unchanged), AGENT_DB_INVALID_ARGUMENT);
    CHECK(unchanged == 42);
    AgentDbNewMemory pair[2] = {m, m};
    pair[0].memory_type = AGENT_DB_MEMORY_SEMANTIC;
    uint64_t pair_ids[2] = {0, 0};
    FAILS_WITH(agent_db_store_memories(db, pair, 2, pair_ids), AGENT_DB_INVALID_ARGUMENT);
    AgentDbStoreOutcome *bad_outcome = NULL;
    FAILS_WITH(agent_db_store_memory_outcome(db, &m, &bad_outcome), AGENT_DB_INVALID_ARGUMENT);
    CHECK(bad_outcome == NULL);
  }
  OK(agent_db_list_memories(db, 7, &all));
  CHECK(all->len == 0);
  agent_db_memory_list_free(all);
}

static void documents(AgentDb *db) {
  AgentDbDocumentInfo *info = NULL;
  OK(agent_db_index_document(db, "tea", "Tea",
                             "Green tea is steamed. Black tea is fully oxidised. Oolong sits between them.",
                             "{\"lang\":\"en\"}", &info));
  CHECK(strcmp(info->doc_id, "tea") == 0 && info->chunk_count >= 1);
  agent_db_document_info_free(info);
  OK(agent_db_index_document(db, "zh", NULL, "龙井茶是一种绿茶，产于杭州。神经网络是一种机器学习模型。", "{\"lang\":\"zh\"}", NULL));
  OK(agent_db_get_document(db, "zh", &info));
  CHECK(strcmp(info->title, "") == 0 && strcmp(info->metadata_json, "{\"lang\":\"zh\"}") == 0);
  agent_db_document_info_free(info);

  AgentDbChunkHitList *hits = NULL;
  OK(agent_db_full_text_search(db, "oxidised", 5, NULL, &hits));
  CHECK(hits->len == 1 && strcmp(hits->items[0].doc_id, "tea") == 0);
  agent_db_chunk_hit_list_free(hits);
  OK(agent_db_full_text_search(db, "龙井茶", 5, NULL, &hits));
  CHECK(hits->len == 1 && strcmp(hits->items[0].doc_id, "zh") == 0);
  agent_db_chunk_hit_list_free(hits);

  OK(agent_db_semantic_search(db, "how is black tea made", 2, NULL, &hits));
  CHECK(hits->len == 2 && strcmp(hits->items[0].doc_id, "tea") == 0);
  agent_db_chunk_hit_list_free(hits);

  const char *texts[1] = {"oolong tea"};
  float *vec = NULL;
  size_t dim = 0;
  OK(agent_db_embed(db, texts, 1, &vec, &dim));
  CHECK(dim == DIM);
  const char *only_en[1] = {"tea"};
  AgentDbDocFilter filter = {only_en, 1, NULL};
  OK(agent_db_semantic_search_vector(db, vec, dim, 5, &filter, &hits));
  CHECK(hits->len >= 1);
  for (size_t i = 0; i < hits->len; i++) CHECK(strcmp(hits->items[i].doc_id, "tea") == 0);
  agent_db_chunk_hit_list_free(hits);

  OK(agent_db_hybrid_search(db, "oolong", vec, dim, 3, AGENT_DB_FUSION_WEIGHTED, 0.5f, NULL, &hits));
  CHECK(hits->len >= 1 && strcmp(hits->items[0].doc_id, "tea") == 0);
  agent_db_chunk_hit_list_free(hits);
  AgentDbDocFilter zh_only = {NULL, 0, "{\"lang\":\"zh\"}"};
  OK(agent_db_hybrid_search(db, "神经网络", NULL, 0, 3, AGENT_DB_FUSION_RRF, 0.0f, &zh_only, &hits));
  CHECK(hits->len == 1 && strcmp(hits->items[0].doc_id, "zh") == 0);
  agent_db_chunk_hit_list_free(hits);
  FAILS_WITH(agent_db_hybrid_search(db, "tea", NULL, 0, 3, 7, 0.5f, NULL, &hits), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_hybrid_search(db, "tea", NULL, 0, 3, AGENT_DB_FUSION_RRF + 1, 0.5f, NULL, &hits),
             AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_hybrid_search(db, "tea", NULL, 0, 3, UINT32_MAX, 0.5f, NULL, &hits), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_hybrid_search(db, "tea", vec, dim, 3, AGENT_DB_FUSION_WEIGHTED, 2.0f, NULL, &hits),
             AGENT_DB_INVALID_ARGUMENT);

  struct ArrowArrayStream stream;
  int64_t cols = 0;
  FAILS_WITH(agent_db_hybrid_search_arrow(db, "tea", vec, dim, 3, UINT32_MAX, 0.0f, NULL, &stream),
             AGENT_DB_INVALID_ARGUMENT);
  OK(agent_db_hybrid_search_arrow(db, "tea", vec, dim, 3, AGENT_DB_FUSION_RRF, 0.0f, NULL, &stream));
  CHECK(arrow_rows(&stream, &cols) >= 1 && cols == 7);
  agent_db_floats_free(vec, dim);

  OK(agent_db_delete_document(db, "zh"));
  FAILS_WITH(agent_db_get_document(db, "zh", &info), AGENT_DB_NOT_FOUND);
  FAILS_WITH(agent_db_delete_document(db, "zh"), AGENT_DB_NOT_FOUND);
}

#define VDIM 8
#define NVEC 300

static void vectors(AgentDb *db) {
  OK(agent_db_create_collection(db, "items", VDIM, AGENT_DB_METRIC_L2));
  FAILS_WITH(agent_db_create_collection(db, "items", VDIM, AGENT_DB_METRIC_L2), AGENT_DB_ALREADY_EXISTS);
  FAILS_WITH(agent_db_create_collection(db, "x", VDIM, 42), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_create_collection(db, "x", VDIM, AGENT_DB_METRIC_DOT + 1), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_create_collection(db, "x", VDIM, UINT32_MAX), AGENT_DB_INVALID_ARGUMENT);
  OK(agent_db_create_collection(db, "unit", 3, AGENT_DB_METRIC_COSINE));
  AgentDbCollectionList *cols = NULL;
  OK(agent_db_list_collections(db, &cols));
  CHECK(cols->len == 2);
  agent_db_collection_list_free(cols);

  static float data[NVEC][VDIM];
  static char ids[NVEC][16];
  static AgentDbVectorRecord recs[NVEC];
  for (int i = 0; i < NVEC; i++) {
    for (int j = 0; j < VDIM; j++) data[i][j] = (float)(i * VDIM + j);
    snprintf(ids[i], sizeof ids[i], "v%d", i);
    recs[i].id = ids[i];
    recs[i].vector = data[i];
    recs[i].vector_len = VDIM;
    recs[i].metadata_json = (i % 2) ? "{\"parity\":\"odd\"}" : "{\"parity\":\"even\"}";
  }
  OK(agent_db_insert_vectors(db, "items", recs, NVEC));
  float extra[VDIM] = {0};
  OK(agent_db_insert_vector(db, "items", "origin", extra, VDIM, NULL));
  FAILS_WITH(agent_db_insert_vector(db, "items", "short", extra, 3, NULL), AGENT_DB_DIMENSION_MISMATCH);
  FAILS_WITH(agent_db_insert_vector(db, "nope", "a", extra, VDIM, NULL), AGENT_DB_NOT_FOUND);
  uint64_t count = 0;
  OK(agent_db_count_vectors(db, "items", &count));
  CHECK(count == NVEC + 1);

  AgentDbVectorRecord *rec = NULL;
  OK(agent_db_get_vector(db, "items", "v3", &rec));
  CHECK(rec->vector_len == VDIM && rec->vector[0] == 24.0f && strcmp(rec->metadata_json, "{\"parity\":\"odd\"}") == 0);
  agent_db_vector_record_free(rec);

  AgentDbVectorHitList *hits = NULL;
  OK(agent_db_search_knn(db, "items", data[10], VDIM, 3, NULL, &hits));
  CHECK(hits->len == 3 && strcmp(hits->items[0].id, "v10") == 0 && hits->items[0].distance == 0.0f);
  agent_db_vector_hit_list_free(hits);
  AgentDbSearchOptions odd = {"{\"parity\":\"odd\"}", 0, 0};
  OK(agent_db_search_knn(db, "items", data[10], VDIM, 2, &odd, &hits));
  CHECK(hits->len == 2 && (strcmp(hits->items[0].id, "v9") == 0 || strcmp(hits->items[0].id, "v11") == 0));
  agent_db_vector_hit_list_free(hits);
  /* neighbours differ by VDIM in every component: Euclidean distance sqrt(VDIM^3) = 22.6 */
  OK(agent_db_search_range(db, "items", data[10], VDIM, 30.0f, 100, NULL, &hits));
  CHECK(hits->len == 3);
  agent_db_vector_hit_list_free(hits);

  struct ArrowArrayStream stream;
  int64_t ncols = 0;
  OK(agent_db_search_knn_arrow(db, "items", data[0], VDIM, 5, NULL, &stream));
  CHECK(arrow_rows(&stream, &ncols) == 5 && ncols == 4);

  OK(agent_db_create_vector_index(db, "items"));
  OK(agent_db_search_knn(db, "items", data[42], VDIM, 1, NULL, &hits));
  CHECK(hits->len == 1 && strcmp(hits->items[0].id, "v42") == 0);
  agent_db_vector_hit_list_free(hits);

  OK(agent_db_delete_vector(db, "items", "origin"));
  FAILS_WITH(agent_db_get_vector(db, "items", "origin", &rec), AGENT_DB_NOT_FOUND);
}

/* Cancel tokens: a long read-only call stops with AGENT_DB_CANCELLED once
 * its token is cancelled, from any thread; nothing it would write is written. */
static void *canceller(void *arg) {
  agent_db_cancel_token_cancel((const AgentDbCancelToken *)arg);
  agent_db_cancel_token_cancel((const AgentDbCancelToken *)arg); /* idempotent */
  return NULL;
}

static void cancellation(AgentDb *db) {
  FAILS_WITH(agent_db_cancel_token_new(NULL), AGENT_DB_INVALID_ARGUMENT);
  agent_db_cancel_token_cancel(NULL); /* no-op */
  agent_db_cancel_token_free(NULL);   /* no-op */
  CHECK(!agent_db_cancel_token_is_cancelled(NULL));
  AgentDbCancelToken *token = NULL;
  OK(agent_db_cancel_token_new(&token));
  CHECK(!agent_db_cancel_token_is_cancelled(token));

  float q[VDIM] = {0};
  float mq[DIM];
  unit_vector(mq, DIM, 1);
  AgentDbVectorHitList *hits = NULL;
  AgentDbScoredMemoryList *mem = NULL;
  AgentDbChunkHitList *chunks = NULL;
  AgentDbMemoryList *before = NULL;
  OK(agent_db_list_memories(db, 7, &before));
  /* An uncancelled token changes nothing; NULL is "not cancellable". */
  OK(agent_db_search_knn_cancellable(db, "items", q, VDIM, 2, NULL, token, &hits));
  CHECK(hits->len == 2);
  agent_db_vector_hit_list_free(hits);
  OK(agent_db_search_range_cancellable(db, "items", q, VDIM, 1e9f, 3, NULL, NULL, &hits));
  CHECK(hits->len == 3);
  agent_db_vector_hit_list_free(hits);
  struct ArrowArrayStream live;
  int64_t live_cols = 0;
  OK(agent_db_search_knn_arrow_cancellable(db, "items", q, VDIM, 2, NULL, token, &live));
  CHECK(arrow_rows(&live, &live_cols) == 2 && live_cols == 4);

  /* Cancelled from another thread while this one keeps searching: the calls
   * succeed until the cancel lands, then every one returns CANCELLED. */
  pthread_t t;
  CHECK(pthread_create(&t, NULL, canceller, token) == 0);
  AgentDbStatus s;
  while ((s = agent_db_search_knn_cancellable(db, "items", q, VDIM, 2, NULL, token, &hits)) == AGENT_DB_OK)
    agent_db_vector_hit_list_free(hits);
  CHECK(s == AGENT_DB_CANCELLED && strlen(agent_db_last_error_message()) > 0);
  CHECK(pthread_join(t, NULL) == 0);
  CHECK(agent_db_cancel_token_is_cancelled(token));

  /* A cancelled token stays cancelled: every long call given it stops at once. */
  hits = (AgentDbVectorHitList *)0x1;
  FAILS_WITH(agent_db_search_knn_cancellable(db, "items", q, VDIM, 2, NULL, token, &hits), AGENT_DB_CANCELLED);
  CHECK(hits == (AgentDbVectorHitList *)0x1); /* out-pointers are written only on success */
  FAILS_WITH(agent_db_search_range_cancellable(db, "items", q, VDIM, 1e9f, 3, NULL, token, &hits),
             AGENT_DB_CANCELLED);
  FAILS_WITH(agent_db_retrieve_memories_cancellable(db, 7, "tea", 3, NULL, token, &mem), AGENT_DB_CANCELLED);
  FAILS_WITH(agent_db_retrieve_memories_by_vector_cancellable(db, 7, mq, DIM, 3, NULL, token, &mem),
             AGENT_DB_CANCELLED);
  FAILS_WITH(agent_db_semantic_search_cancellable(db, "tea", 3, NULL, token, &chunks), AGENT_DB_CANCELLED);
  FAILS_WITH(agent_db_semantic_search_vector_cancellable(db, mq, DIM, 3, NULL, token, &chunks), AGENT_DB_CANCELLED);
  FAILS_WITH(agent_db_full_text_search_cancellable(db, "tea", 3, NULL, token, &chunks), AGENT_DB_CANCELLED);
  FAILS_WITH(agent_db_hybrid_search_cancellable(db, "tea", NULL, 0, 3, AGENT_DB_FUSION_RRF, 0.0f, NULL, token,
                                                &chunks),
             AGENT_DB_CANCELLED);
  struct ArrowArrayStream stream;
  memset(&stream, 0, sizeof stream);
  FAILS_WITH(agent_db_retrieve_memories_arrow_cancellable(db, 7, "tea", 3, NULL, token, &stream), AGENT_DB_CANCELLED);
  FAILS_WITH(agent_db_hybrid_search_arrow_cancellable(db, "tea", NULL, 0, 3, AGENT_DB_FUSION_RRF, 0.0f, NULL, token,
                                                      &stream),
             AGENT_DB_CANCELLED);
  FAILS_WITH(agent_db_search_knn_arrow_cancellable(db, "items", q, VDIM, 2, NULL, token, &stream), AGENT_DB_CANCELLED);
  CHECK(stream.release == NULL); /* not written */
  /* Bad input is still reported as such. */
  FAILS_WITH(agent_db_search_knn_cancellable(db, "items", q, VDIM, 0, NULL, token, &hits), AGENT_DB_INVALID_ARGUMENT);
  agent_db_cancel_token_free(token);

  /* The cancelled retrievals recorded no access. */
  AgentDbMemoryList *after = NULL;
  OK(agent_db_list_memories(db, 7, &after));
  CHECK(after->len == before->len);
  for (size_t i = 0; i < after->len; i++) CHECK(after->items[i].access_count == before->items[i].access_count);
  agent_db_memory_list_free(before);
  agent_db_memory_list_free(after);
}

/* Items: JSON values addressed by a namespace (an array of labels) and a key. */
static void items(AgentDb *db) {
  const char *ns[] = {"users", "u1"};
  const char *other[] = {"users", "u2", "notes"};
  const char *teams[] = {"teams"};
  AgentDbItem *item = (AgentDbItem *)0x1;

  /* Absence is not an error: OK, and the item is NULL. */
  OK(agent_db_get_item(db, ns, 2, "prefs", &item));
  CHECK(item == NULL);
  OK(agent_db_put_item(db, ns, 2, "prefs", "{\"theme\": \"dark\", \"size\": 3}", "{\"source\":\"ui\"}", false, 0,
                       &item));
  CHECK(item->namespace_len == 2 && strcmp(item->namespace_labels[0], "users") == 0 &&
        strcmp(item->namespace_labels[1], "u1") == 0 && strcmp(item->key, "prefs") == 0);
  CHECK(strcmp(item->value_json, "{\"size\":3,\"theme\":\"dark\"}") == 0 ||
        strcmp(item->value_json, "{\"theme\":\"dark\",\"size\":3}") == 0);
  CHECK(strcmp(item->metadata_json, "{\"source\":\"ui\"}") == 0);
  CHECK(!item->has_ttl && !item->has_expiry && item->created_at_ms > 0 && item->updated_at_ms == item->created_at_ms);
  int64_t created = item->created_at_ms;
  agent_db_item_free(item);
  /* A replace keeps created_at; a TTL sets both TTL fields. out_item may be NULL. */
  OK(agent_db_put_item(db, ns, 2, "prefs", "[1, \"two\", null]", NULL, true, 3600000, NULL));
  OK(agent_db_get_item(db, ns, 2, "prefs", &item));
  CHECK(item != NULL && strcmp(item->value_json, "[1,\"two\",null]") == 0 && strcmp(item->metadata_json, "{}") == 0);
  CHECK(item->created_at_ms == created && item->has_ttl && item->ttl_ms == 3600000 && item->has_expiry &&
        item->expires_at_ms >= item->updated_at_ms + 3600000);
  agent_db_item_free(item);
  /* Whole labels: a shorter namespace is another address. */
  OK(agent_db_get_item(db, ns, 1, "prefs", &item));
  CHECK(item == NULL);

  /* A batch: all or nothing, in order; the empty key is a key. */
  AgentDbItemWrite writes[] = {
      {AGENT_DB_ITEM_PUT, ns, 2, "a", "{\"n\": 1, \"tag\": \"red\"}", NULL, false, 0},
      {AGENT_DB_ITEM_PUT, ns, 2, "", "\"empty key\"", NULL, false, 0},
      {AGENT_DB_ITEM_PUT, other, 3, "it's \"quoted\" ' OR 1=1 --", "{\"n\": 7, \"tag\": \"red\"}", "{\"m\":\"x\"}",
       false, 0},
      {AGENT_DB_ITEM_PUT, teams, 1, "t", "{\"n\": 2.0}", NULL, false, 0},
      {AGENT_DB_ITEM_PUT, ns, 2, "gone", "1", NULL, false, 0},
      {AGENT_DB_ITEM_DELETE, ns, 2, "gone", NULL, NULL, false, 0},
      {AGENT_DB_ITEM_DELETE, ns, 2, "never-there", "ignored", NULL, false, 0},
  };
  AgentDbItemWriteReport report = {0, 0};
  OK(agent_db_write_items(db, writes, sizeof writes / sizeof writes[0], &report));
  CHECK(report.put == 5 && report.deleted == 1);

  AgentDbItemAddress addresses[] = {{ns, 2, "gone"}, {ns, 2, ""}, {other, 3, "it's \"quoted\" ' OR 1=1 --"}};
  AgentDbItemSlots *slots = NULL;
  OK(agent_db_get_items(db, addresses, 3, true, &slots));
  CHECK(slots->len == 3 && slots->items[0] == NULL && slots->items[1] != NULL && slots->items[2] != NULL);
  CHECK(strcmp(slots->items[1]->value_json, "\"empty key\"") == 0 && strcmp(slots->items[2]->key, addresses[2].key) == 0);
  agent_db_item_slots_free(slots);

  AgentDbItemQuery q;
  OK(agent_db_item_query_init(&q));
  CHECK(q.limit == 10 && q.offset == 0 && q.prefix_len == 0 && q.filter_json == NULL);
  const char *users[] = {"users"};
  q.prefix = users;
  q.prefix_len = 1;
  q.filter_json = "{\"tag\": \"red\", \"n\": {\"$gte\": 1}}";
  AgentDbItemPage *page = NULL;
  OK(agent_db_search_items(db, &q, &page));
  CHECK(page->total == 2 && page->len == 2);
  CHECK(strcmp(page->items[0].key, "a") == 0 && page->items[1].namespace_len == 3); /* ties by namespace */
  agent_db_item_page_free(page);
  q.filter_json = NULL;
  q.metadata_json = "{\"m\":\"x\"}";
  OK(agent_db_search_items(db, &q, &page));
  CHECK(page->total == 1 && strcmp(page->items[0].metadata_json, "{\"m\":\"x\"}") == 0);
  agent_db_item_page_free(page);
  q.metadata_json = NULL;
  q.limit = 1;
  q.offset = 1;
  OK(agent_db_search_items(db, &q, &page));
  CHECK(page->total == 4 && page->len == 1);
  agent_db_item_page_free(page);

  AgentDbNamespaceQuery nq;
  OK(agent_db_namespace_query_init(&nq));
  CHECK(nq.limit == 100 && !nq.has_max_depth);
  AgentDbNamespaceList *namespaces = NULL;
  OK(agent_db_list_item_namespaces(db, &nq, &namespaces));
  CHECK(namespaces->len == 3);
  CHECK(namespaces->items[0].len == 1 && strcmp(namespaces->items[0].labels[0], "teams") == 0);
  CHECK(namespaces->items[2].len == 3 && strcmp(namespaces->items[2].labels[2], "notes") == 0);
  agent_db_namespace_list_free(namespaces);
  const char *any_u2[] = {"*", "u2"};
  nq.prefix = any_u2;
  nq.prefix_len = 2;
  nq.max_depth = 2;
  nq.has_max_depth = true;
  OK(agent_db_list_item_namespaces(db, &nq, &namespaces));
  CHECK(namespaces->len == 1 && namespaces->items[0].len == 2 && strcmp(namespaces->items[0].labels[1], "u2") == 0);
  agent_db_namespace_list_free(namespaces);

  bool deleted = false;
  OK(agent_db_delete_item(db, ns, 2, "", &deleted));
  CHECK(deleted);
  OK(agent_db_delete_item(db, ns, 2, "", &deleted));
  CHECK(!deleted);
  OK(agent_db_delete_item(db, ns, 2, "", NULL));
  uint64_t swept = 99;
  OK(agent_db_sweep_expired_items(db, &swept));
  CHECK(swept == 0);
  OK(agent_db_sweep_expired_items(db, NULL));

  /* Bad input: typed errors, out-pointers untouched, nothing written. */
  const char *empty_label[] = {"users", ""};
  const char *bad_utf8[] = {"\xff\xfe"};
  const char *null_label[] = {"users", NULL};
  item = (AgentDbItem *)0x1;
  FAILS_WITH(agent_db_put_item(NULL, ns, 2, "k", "1", NULL, false, 0, &item), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_put_item(db, NULL, 0, "k", "1", NULL, false, 0, &item), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_put_item(db, NULL, 2, "k", "1", NULL, false, 0, &item), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_put_item(db, null_label, 2, "k", "1", NULL, false, 0, &item), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_put_item(db, empty_label, 2, "k", "1", NULL, false, 0, &item), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_put_item(db, bad_utf8, 1, "k", "1", NULL, false, 0, &item), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_put_item(db, ns, 2, NULL, "1", NULL, false, 0, &item), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_put_item(db, ns, 2, "\xc3\x28", "1", NULL, false, 0, &item), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_put_item(db, ns, 2, "k", NULL, NULL, false, 0, &item), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_put_item(db, ns, 2, "k", "{\"a\":", NULL, false, 0, &item), AGENT_DB_INVALID_ARGUMENT);
  CHECK(strstr(agent_db_last_error_message(), "JSON") != NULL);
  FAILS_WITH(agent_db_put_item(db, ns, 2, "k", "\"\xff\"", NULL, false, 0, &item), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_put_item(db, ns, 2, "k", "1", "[\"not an object\"]", false, 0, &item),
             AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_put_item(db, ns, 2, "k", "1", NULL, true, 0, &item), AGENT_DB_INVALID_ARGUMENT);
  CHECK(item == (AgentDbItem *)0x1);
  AgentDbItemWrite bad_batch[] = {
      {AGENT_DB_ITEM_PUT, ns, 2, "ok", "1", NULL, false, 0},
      {AGENT_DB_ITEM_PUT, ns, 2, "bad", "[", NULL, false, 0},
  };
  report.put = 77;
  FAILS_WITH(agent_db_write_items(db, bad_batch, 2, &report), AGENT_DB_INVALID_ARGUMENT);
  CHECK(report.put == 77);
  bad_batch[1].op = 2; /* names no operation */
  bad_batch[1].value_json = "1";
  FAILS_WITH(agent_db_write_items(db, bad_batch, 2, &report), AGENT_DB_INVALID_ARGUMENT);
  bad_batch[1].op = UINT32_MAX;
  FAILS_WITH(agent_db_write_items(db, bad_batch, 2, NULL), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_write_items(db, NULL, 2, NULL), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_write_items(db, NULL, 0, NULL), AGENT_DB_INVALID_ARGUMENT); /* an empty batch */
  OK(agent_db_get_item(db, ns, 2, "ok", &item));
  CHECK(item == NULL); /* nothing of the refused batches was written */
  FAILS_WITH(agent_db_get_item(db, ns, 2, "k", NULL), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_get_items(db, NULL, 1, false, &slots), AGENT_DB_INVALID_ARGUMENT);
  AgentDbItemAddress bad_address[] = {{ns, 2, "fine"}, {ns, 2, NULL}};
  FAILS_WITH(agent_db_get_items(db, bad_address, 2, false, &slots), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_delete_item(db, ns, 2, NULL, &deleted), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_search_items(db, NULL, &page), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_search_items(db, &q, NULL), AGENT_DB_INVALID_ARGUMENT);
  q.limit = 0;
  FAILS_WITH(agent_db_search_items(db, &q, &page), AGENT_DB_INVALID_ARGUMENT);
  q.limit = 10;
  q.filter_json = "{\"n\": {\"$regex\": \"1\"}}";
  FAILS_WITH(agent_db_search_items(db, &q, &page), AGENT_DB_INVALID_ARGUMENT);
  q.filter_json = "[\"n\"]";
  FAILS_WITH(agent_db_search_items(db, &q, &page), AGENT_DB_INVALID_ARGUMENT);
  q.filter_json = "{not json";
  FAILS_WITH(agent_db_search_items(db, &q, &page), AGENT_DB_INVALID_ARGUMENT);
  q.filter_json = NULL;
  q.prefix = NULL; /* NULL with a nonzero length */
  q.prefix_len = 3;
  FAILS_WITH(agent_db_search_items(db, &q, &page), AGENT_DB_INVALID_ARGUMENT);
  nq.max_depth = 0;
  FAILS_WITH(agent_db_list_item_namespaces(db, &nq, &namespaces), AGENT_DB_INVALID_ARGUMENT);
  nq.has_max_depth = false;
  nq.suffix = empty_label;
  nq.suffix_len = 2;
  FAILS_WITH(agent_db_list_item_namespaces(db, &nq, &namespaces), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_list_item_namespaces(db, NULL, &namespaces), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_item_query_init(NULL), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_namespace_query_init(NULL), AGENT_DB_INVALID_ARGUMENT);
  FAILS_WITH(agent_db_sweep_expired_items(NULL, &swept), AGENT_DB_INVALID_ARGUMENT);

  /* Every free accepts NULL. */
  agent_db_item_free(NULL);
  agent_db_item_slots_free(NULL);
  agent_db_item_page_free(NULL);
  agent_db_namespace_list_free(NULL);
}

/* One handle, many threads. */
static void *saver(void *arg) {
  AgentDb *db = (AgentDb *)arg;
  for (int i = 0; i < 50; i++) {
    uint64_t v = 0;
    if (agent_db_save_state(db, 100, 1, AGENT_DB_STATE_CONTEXT, (const uint8_t *)"t", 1, NULL, &v) != AGENT_DB_OK)
      return (void *)1;
  }
  return NULL;
}

static void threads(AgentDb *db) {
  pthread_t t[4];
  for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, saver, db) == 0);
  for (int i = 0; i < 4; i++) {
    void *r = NULL;
    CHECK(pthread_join(t[i], &r) == 0 && r == NULL);
  }
  AgentDbState *st = NULL;
  OK(agent_db_load_state(db, 100, 1, &st));
  CHECK(st->version == 200); /* no version handed out twice */
  agent_db_state_free(st);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DB_DIR\n", argv[0]);
    return 2;
  }
  printf("AgentDB %s\n", agent_db_version());
  AgentDbOptions opts;
  OK(agent_db_options_default(&opts));
  opts.maintenance_interval_ms = 0;
  CHECK(opts.memory_merge_policy == AGENT_DB_MERGE_KEEP_NEWEST && opts.memory_merge_threshold > 0.5f);
  AgentDb *db = NULL;
  FAILS_WITH(agent_db_open(NULL, &opts, &db), AGENT_DB_INVALID_ARGUMENT);
  /* Enumerations in the options are uint32_t; a number that names no constant is refused. */
  const uint32_t bad_enums[] = {3, 7, 9, UINT32_MAX};
  for (size_t i = 0; i < sizeof bad_enums / sizeof bad_enums[0]; i++) {
    opts.memory_merge_policy = bad_enums[i];
    FAILS_WITH(agent_db_open(argv[1], &opts, &db), AGENT_DB_INVALID_ARGUMENT);
    opts.memory_merge_policy = AGENT_DB_MERGE_KEEP_NEWEST;
    opts.fsync = bad_enums[i];
    FAILS_WITH(agent_db_open(argv[1], &opts, &db), AGENT_DB_INVALID_ARGUMENT);
    opts.fsync = AGENT_DB_FSYNC_ALWAYS;
  }
  CHECK(db == NULL);
  opts.fsync = AGENT_DB_FSYNC_ALWAYS;
  OK(agent_db_open(argv[1], &opts, &db));

  AgentDb *second = NULL;
  AgentDbState *st_gc = NULL;
  FAILS_WITH(agent_db_open(argv[1], NULL, &second), AGENT_DB_LOCKED);

  states(db);
  keyed_states(db);
  memories(db);
  documents(db);
  vectors(db);
  items(db);
  cancellation(db);
  threads(db);

  OK(agent_db_flush(db));
  OK(agent_db_compact(db));
  uint64_t removed = 0;
  OK(agent_db_gc(db, 1, 0, &removed)); /* agent 7 session 1: v1 and v3 go; v2 (snapshot) and v4 stay */
  CHECK(removed >= 2);
  OK(agent_db_load_state_version(db, 7, 1, 2, &st_gc));
  agent_db_state_free(st_gc);
  FAILS_WITH(agent_db_load_state_version(db, 7, 1, 1, &st_gc), AGENT_DB_NOT_FOUND);
  char *stats = NULL;
  OK(agent_db_stats_json(db, &stats));
  CHECK(strstr(stats, "\"tables\"") != NULL);
  agent_db_string_free(stats);
  OK(agent_db_close(db));
  OK(agent_db_close(NULL));

  /* Everything acknowledged is there after reopening, read-only. */
  opts.read_only = true;
  OK(agent_db_open(argv[1], &opts, &db));
  AgentDbState *st = NULL;
  OK(agent_db_load_state(db, 7, 1, &st));
  CHECK(st->version == 4);
  agent_db_state_free(st);
  OK(agent_db_load_state_by_key(db, 9, 1, "ck-1", &st)); /* gc kept the latest version, key and all */
  CHECK(st->version == 5 && strcmp(st->key, "ck-1") == 0);
  agent_db_state_free(st);
  AgentDbStateList *page = NULL;
  OK(agent_db_state_history_page(db, 9, 1, UINT64_MAX, 10, &page));
  CHECK(page->len == 1 && page->items[0].version == 5);
  agent_db_state_list_free(page);
  const char *ro_ns[] = {"users", "u1"};
  AgentDbItem *ro_item = NULL;
  OK(agent_db_get_item(db, ro_ns, 2, "prefs", &ro_item)); /* items survive compaction and reopen */
  CHECK(ro_item != NULL && strcmp(ro_item->value_json, "[1,\"two\",null]") == 0 && ro_item->ttl_ms == 3600000);
  agent_db_item_free(ro_item);
  FAILS_WITH(agent_db_put_item(db, ro_ns, 2, "k", "1", NULL, false, 0, NULL), AGENT_DB_READ_ONLY);
  FAILS_WITH(agent_db_sweep_expired_items(db, NULL), AGENT_DB_READ_ONLY);
  FAILS_WITH(agent_db_save_state(db, 7, 1, AGENT_DB_STATE_CONTEXT, NULL, 0, NULL, NULL), AGENT_DB_READ_ONLY);
  FAILS_WITH(agent_db_save_state_keyed(db, 9, 1, "ck-6", AGENT_DB_STATE_CONTEXT, NULL, 0, NULL, NULL),
             AGENT_DB_READ_ONLY);
  OK(agent_db_close(db));

  printf("all %d checks passed\n", checks);
  return 0;
}
