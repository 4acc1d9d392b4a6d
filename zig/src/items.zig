//! Items (SPEC.md, "Items"): JSON values addressed by a namespace path (a
//! list of labels) and a key, with upsert, TTL, value filters and namespace
//! listing. Values and value filters are JSON text, passed through as they
//! are: the library parses and validates them (`putItemTyped` serialises a
//! Zig value with std.json for you). An address without a live item is
//! `null`, not an error, as in the engine.
const std = @import("std");
const Allocator = std.mem.Allocator;
const c = @import("c.zig").c;
const convert = @import("convert.zig");
const errors = @import("errors.zig");
const Context = convert.Context;
const Metadata = convert.Metadata;
const Owned = convert.Owned;
const Error = errors.Error;
const Diagnostics = errors.Diagnostics;

/// A namespace: 1..=64 labels, each 1..=1024 bytes.
pub const Namespace = []const []const u8;

/// One put: inserts the item or replaces it whole.
pub const ItemPut = struct {
    namespace: Namespace,
    /// 0..=1024 bytes ("" is a key).
    key: []const u8,
    /// The value as JSON text (any JSON: object, array, string, number...).
    value_json: []const u8,
    metadata: Metadata = &.{},
    /// The item expires this long after the put (≥ 1); null: never.
    ttl_ms: ?u64 = null,
};

/// An item's address.
pub const ItemAddress = struct {
    namespace: Namespace,
    key: []const u8,
};

/// One operation of `writeItems`.
pub const ItemWrite = union(enum) {
    put: ItemPut,
    /// Deleting an absent item does nothing.
    delete: ItemAddress,
};

/// What `writeItems` did.
pub const WriteReport = struct {
    /// Puts applied.
    put: u64,
    /// Live items deleted.
    deleted: u64,
};

/// An item as read.
pub const Item = struct {
    namespace: Namespace,
    key: []const u8,
    /// The value as JSON text.
    value_json: []const u8,
    metadata: Metadata,
    created_at_ms: i64,
    updated_at_ms: i64,
    /// When it stops being visible; null: never.
    expires_at_ms: ?i64,
    /// The time to live it was written with; null: none.
    ttl_ms: ?u64,

    /// The value parsed as a `T` (std.json; unknown fields ignored);
    /// `deinit` the result.
    pub fn parseValue(self: Item, comptime T: type, allocator: Allocator) !std.json.Parsed(T) {
        return std.json.parseFromSlice(T, allocator, self.value_json, .{
            .allocate = .alloc_always,
            .ignore_unknown_fields = true,
        });
    }
};

/// Which items `searchItems` returns. Null fields take the library's
/// defaults (`agent_db_item_query_init`: limit 10).
pub const ItemQuery = struct {
    /// Labels the namespace starts with, whole labels only; empty: every item.
    prefix: Namespace = &.{},
    /// A value filter: a JSON object (SPEC.md, "Value filters"); null: none.
    filter_json: ?[]const u8 = null,
    /// Every entry must equal the item's metadata value.
    metadata: Metadata = &.{},
    /// 1..=10000.
    limit: ?u32 = null,
    /// Matches skipped before the page (0..=1000000).
    offset: u32 = 0,
    /// Move each returned item's expiry to now + its TTL (a write).
    refresh_ttl: bool = false,
};

/// A page of `searchItems`: most recently updated first (ties by namespace,
/// then key), and the number of matches in all.
pub const ItemPage = struct {
    items: []const Item,
    total: u64,
};

/// Which namespaces `listItemNamespaces` returns; a "*" label in `prefix`
/// or `suffix` matches any label. Null fields take the library's defaults
/// (`agent_db_namespace_query_init`: whole namespaces, limit 100).
pub const NamespaceQuery = struct {
    prefix: Namespace = &.{},
    suffix: Namespace = &.{},
    /// Cut each namespace to its first `max_depth` labels (≥ 1), then drop duplicates.
    max_depth: ?u32 = null,
    /// 1..=10000.
    limit: ?u32 = null,
    offset: u32 = 0,
};

pub const Items = struct {
    ctx: Context,

    /// This subsystem reporting failures' messages into `diagnostics`.
    pub fn withDiagnostics(self: Items, diagnostics: *Diagnostics) Items {
        var copy = self;
        copy.ctx.diagnostics = diagnostics;
        return copy;
    }

    /// Applies the puts and deletes in order as one atomic write (all or
    /// nothing); the last operation on an address wins.
    pub fn writeItems(self: Items, writes: []const ItemWrite) (Error || Allocator.Error)!WriteReport {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        const c_writes = try s.alloc(c.AgentDbItemWrite, writes.len);
        for (writes, c_writes) |write, *c_write| c_write.* = switch (write) {
            .put => |put| try self.cPut(s, put),
            .delete => |address| blk: {
                const labels = try self.ctx.cStrings(s, address.namespace);
                break :blk .{
                    .op = c.AGENT_DB_ITEM_DELETE,
                    .namespace_labels = convert.itemsPtr([*c]const u8, labels),
                    .namespace_len = labels.len,
                    .key = try self.ctx.cString(s, address.key),
                    .value_json = null,
                    .metadata_json = null,
                    .has_ttl = false,
                    .ttl_ms = 0,
                };
            },
        };
        var report: c.AgentDbItemWriteReport = undefined;
        try self.ctx.check(c.agent_db_write_items(self.ctx.handle, convert.itemsPtr(c.AgentDbItemWrite, c_writes), c_writes.len, &report));
        std.debug.assert(report.put + report.deleted <= writes.len);
        return .{ .put = report.put, .deleted = report.deleted };
    }

    /// Inserts or replaces one item; returns it as stored.
    pub fn putItem(self: Items, put: ItemPut) (Error || Allocator.Error)!Owned(Item) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const w = try self.cPut(scratch.allocator(), put);
        var raw: [*c]c.AgentDbItem = null;
        try self.ctx.check(c.agent_db_put_item(
            self.ctx.handle,
            w.namespace_labels,
            w.namespace_len,
            w.key,
            w.value_json,
            w.metadata_json,
            w.has_ttl,
            w.ttl_ms,
            &raw,
        ));
        defer c.agent_db_item_free(raw);
        std.debug.assert(raw != null);
        return self.ownItem(raw);
    }

    /// Serialises `value` with std.json and puts it.
    pub fn putItemTyped(
        self: Items,
        comptime T: type,
        namespace: Namespace,
        key: []const u8,
        value: T,
        options: struct { metadata: Metadata = &.{}, ttl_ms: ?u64 = null },
    ) (Error || Allocator.Error)!Owned(Item) {
        const json = try std.json.Stringify.valueAlloc(self.ctx.allocator, value, .{});
        defer self.ctx.allocator.free(json);
        return self.putItem(.{ .namespace = namespace, .key = key, .value_json = json, .metadata = options.metadata, .ttl_ms = options.ttl_ms });
    }

    /// Deletes one item; whether a live item was deleted.
    pub fn deleteItem(self: Items, namespace: Namespace, key: []const u8) (Error || Allocator.Error)!bool {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        const labels = try self.ctx.cStrings(s, namespace);
        var deleted: bool = false;
        try self.ctx.check(c.agent_db_delete_item(
            self.ctx.handle,
            convert.itemsPtr([*c]const u8, labels),
            labels.len,
            try self.ctx.cString(s, key),
            &deleted,
        ));
        return deleted;
    }

    /// The live item at (namespace, key), or null (absent, deleted or expired).
    pub fn getItem(self: Items, namespace: Namespace, key: []const u8) (Error || Allocator.Error)!?Owned(Item) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        const labels = try self.ctx.cStrings(s, namespace);
        var raw: [*c]c.AgentDbItem = null;
        try self.ctx.check(c.agent_db_get_item(
            self.ctx.handle,
            convert.itemsPtr([*c]const u8, labels),
            labels.len,
            try self.ctx.cString(s, key),
            &raw,
        ));
        if (raw == null) return null;
        defer c.agent_db_item_free(raw);
        return try self.ownItem(raw);
    }

    /// The live item at each address, in order (null where none). With
    /// `refresh_ttl`, each found item with a TTL gets a new expiry.
    pub fn getItems(self: Items, addresses: []const ItemAddress, refresh_ttl: bool) (Error || Allocator.Error)!Owned([]const ?Item) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        const c_addresses = try s.alloc(c.AgentDbItemAddress, addresses.len);
        for (addresses, c_addresses) |address, *c_address| {
            const labels = try self.ctx.cStrings(s, address.namespace);
            c_address.* = .{
                .namespace_labels = convert.itemsPtr([*c]const u8, labels),
                .namespace_len = labels.len,
                .key = try self.ctx.cString(s, address.key),
            };
        }
        var slots: [*c]c.AgentDbItemSlots = null;
        try self.ctx.check(c.agent_db_get_items(
            self.ctx.handle,
            convert.itemsPtr(c.AgentDbItemAddress, c_addresses),
            c_addresses.len,
            refresh_ttl,
            &slots,
        ));
        defer c.agent_db_item_slots_free(slots);
        std.debug.assert(slots.*.len == addresses.len);

        var owned = try Owned([]const ?Item).init(self.ctx.allocator);
        errdefer owned.deinit();
        const arena = owned.arena.allocator();
        const out = try arena.alloc(?Item, slots.*.len);
        for (out, 0..) |*slot, i| {
            const raw = slots.*.items[i];
            slot.* = if (raw == null) null else try copyItem(arena, raw);
        }
        owned.value = out;
        return owned;
    }

    /// The live items under `query.prefix` that pass the value filter and
    /// the metadata, most recently updated first; `total` counts every match.
    pub fn searchItems(self: Items, query: ItemQuery) (Error || Allocator.Error)!Owned(ItemPage) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        var c_query: c.AgentDbItemQuery = undefined;
        try self.ctx.check(c.agent_db_item_query_init(&c_query));
        const prefix = try self.ctx.cStrings(s, query.prefix);
        c_query.prefix = convert.itemsPtr([*c]const u8, prefix);
        c_query.prefix_len = prefix.len;
        if (query.filter_json) |filter| c_query.filter_json = try self.ctx.cString(s, filter);
        c_query.metadata_json = try convert.metadataJson(s, query.metadata);
        if (query.limit) |limit| c_query.limit = limit;
        c_query.offset = query.offset;
        c_query.refresh_ttl = query.refresh_ttl;

        var page: [*c]c.AgentDbItemPage = null;
        try self.ctx.check(c.agent_db_search_items(self.ctx.handle, &c_query, &page));
        defer c.agent_db_item_page_free(page);
        std.debug.assert(page.*.len <= c_query.limit and page.*.len <= page.*.total);

        var owned = try Owned(ItemPage).init(self.ctx.allocator);
        errdefer owned.deinit();
        const arena = owned.arena.allocator();
        const items = try arena.alloc(Item, page.*.len);
        for (items, 0..) |*item, i| item.* = try copyItem(arena, &page.*.items[i]);
        owned.value = .{ .items = items, .total = page.*.total };
        return owned;
    }

    /// The namespaces holding at least one live item that match `query`,
    /// sorted label by label (bytewise).
    pub fn listItemNamespaces(self: Items, query: NamespaceQuery) (Error || Allocator.Error)!Owned([]const Namespace) {
        var scratch: std.heap.ArenaAllocator = .init(self.ctx.allocator);
        defer scratch.deinit();
        const s = scratch.allocator();
        var c_query: c.AgentDbNamespaceQuery = undefined;
        try self.ctx.check(c.agent_db_namespace_query_init(&c_query));
        const prefix = try self.ctx.cStrings(s, query.prefix);
        const suffix = try self.ctx.cStrings(s, query.suffix);
        c_query.prefix = convert.itemsPtr([*c]const u8, prefix);
        c_query.prefix_len = prefix.len;
        c_query.suffix = convert.itemsPtr([*c]const u8, suffix);
        c_query.suffix_len = suffix.len;
        if (query.max_depth) |depth| {
            c_query.max_depth = depth;
            c_query.has_max_depth = true;
        }
        if (query.limit) |limit| c_query.limit = limit;
        c_query.offset = query.offset;

        var list: [*c]c.AgentDbNamespaceList = null;
        try self.ctx.check(c.agent_db_list_item_namespaces(self.ctx.handle, &c_query, &list));
        defer c.agent_db_namespace_list_free(list);
        std.debug.assert(list.*.len <= c_query.limit);

        var owned = try Owned([]const Namespace).init(self.ctx.allocator);
        errdefer owned.deinit();
        const arena = owned.arena.allocator();
        const namespaces = try arena.alloc(Namespace, list.*.len);
        for (namespaces, 0..) |*namespace, i| {
            const raw = list.*.items[i];
            namespace.* = try copyLabels(arena, raw.labels, raw.len);
        }
        owned.value = namespaces;
        return owned;
    }

    /// Deletes every expired item; returns how many.
    pub fn sweepExpiredItems(self: Items) Error!u64 {
        var deleted: u64 = 0;
        try self.ctx.check(c.agent_db_sweep_expired_items(self.ctx.handle, &deleted));
        return deleted;
    }

    /// A put as the ABI's write struct, its strings in `s`.
    fn cPut(self: Items, s: Allocator, put: ItemPut) (Error || Allocator.Error)!c.AgentDbItemWrite {
        const labels = try self.ctx.cStrings(s, put.namespace);
        return .{
            .op = c.AGENT_DB_ITEM_PUT,
            .namespace_labels = convert.itemsPtr([*c]const u8, labels),
            .namespace_len = labels.len,
            .key = try self.ctx.cString(s, put.key),
            .value_json = try self.ctx.cString(s, put.value_json),
            .metadata_json = try convert.metadataJson(s, put.metadata),
            .has_ttl = put.ttl_ms != null,
            .ttl_ms = put.ttl_ms orelse 0,
        };
    }

    fn ownItem(self: Items, raw: [*c]const c.AgentDbItem) (Error || Allocator.Error)!Owned(Item) {
        var owned = try Owned(Item).init(self.ctx.allocator);
        errdefer owned.deinit();
        owned.value = try copyItem(owned.arena.allocator(), raw);
        return owned;
    }
};

fn copyLabels(arena: Allocator, labels: [*c]const [*c]const u8, len: usize) Allocator.Error!Namespace {
    const out = try arena.alloc([]const u8, len);
    for (out, 0..) |*label, i| label.* = try convert.dupeString(arena, labels[i]);
    return out;
}

fn copyItem(arena: Allocator, raw: [*c]const c.AgentDbItem) (Error || Allocator.Error)!Item {
    return .{
        .namespace = try copyLabels(arena, raw.*.namespace_labels, raw.*.namespace_len),
        .key = try convert.dupeString(arena, raw.*.key),
        .value_json = try convert.dupeString(arena, raw.*.value_json),
        .metadata = try convert.parseMetadata(arena, raw.*.metadata_json),
        .created_at_ms = raw.*.created_at_ms,
        .updated_at_ms = raw.*.updated_at_ms,
        .expires_at_ms = if (raw.*.has_expiry) raw.*.expires_at_ms else null,
        .ttl_ms = if (raw.*.has_ttl) raw.*.ttl_ms else null,
    };
}
