//! The one place that imports the C ABI (include/agent_db.h). Everything
//! else in the package uses `c.*` from here, so replacing `@cImport` with
//! `b.addTranslateC` (Zig 0.16) changes this file alone.
pub const c = @cImport({
    @cInclude("agent_db.h");
});
