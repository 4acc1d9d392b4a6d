//! Sets `AGENTDB_BUILD_COMMIT` for `--version` (see agentdb-engine-build-info).

fn main() {
    agentdb_build_info::emit_build_commit();
}
