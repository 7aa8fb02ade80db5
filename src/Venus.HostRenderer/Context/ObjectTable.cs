namespace Venus.HostRenderer.Context;

/// <summary>One guest object: its real handle, Vulkan object type, and where it belongs.</summary>
internal struct HostObject
{
    public ulong Handle;
    public int Type;
    /// <summary>Function table (index into the context's tables) of dispatchable objects; -1 otherwise.</summary>
    public int Table;
    /// <summary>Guest id of the object it was created from (device, pool, ...); 0 for none.</summary>
    public ulong Parent;
}

/// <summary>
/// Guest id → real handle, per context, for every object type (venus-protocol.md §1.7): ids are
/// non-zero and unique among live objects; every lookup checks the type. Rings of one context
/// decode concurrently, so every operation takes the lock.
/// </summary>
internal sealed class ObjectTable
{
    readonly Dictionary<ulong, HostObject> _byId = new();
    readonly Dictionary<(ulong, int), ulong> _byHandle = new();
    readonly object _lock = new();
    readonly int _cap;

    public ObjectTable(int cap = 1 << 20) => _cap = cap;

    public int Count { get { lock (_lock) return _byId.Count; } }
    public int Cap => _cap;

    public bool TryAdd(ulong id, HostObject o)
    {
        if (id == 0) return false;
        lock (_lock)
        {
            if (_byId.Count >= _cap || !_byId.TryAdd(id, o)) return false;
            _byHandle[(o.Handle, o.Type)] = id;
            return true;
        }
    }

    public bool TryGet(ulong id, out HostObject o)
    {
        lock (_lock) return _byId.TryGetValue(id, out o);
    }

    public bool TryGet(ulong id, int type, out HostObject o)
    {
        lock (_lock) return _byId.TryGetValue(id, out o) && o.Type == type;
    }

    public ulong IdOf(ulong handle, int type)
    {
        lock (_lock) return _byHandle.TryGetValue((handle, type), out var id) ? id : 0;
    }

    public bool Remove(ulong id, out HostObject o)
    {
        lock (_lock)
        {
            if (!_byId.Remove(id, out o)) return false;
            _byHandle.Remove((o.Handle, o.Type));
            return true;
        }
    }

    /// <summary>Removes every object whose parent is <paramref name="parent"/> (children freed with their pool).</summary>
    public int RemoveChildren(ulong parent)
    {
        lock (_lock)
        {
            var ids = _byId.Where(kv => kv.Value.Parent == parent).Select(kv => kv.Key).ToList();
            foreach (var id in ids) { var o = _byId[id]; _byId.Remove(id); _byHandle.Remove((o.Handle, o.Type)); }
            return ids.Count;
        }
    }

    /// <summary>Removes every object created, directly or through others, from <paramref name="root"/>.</summary>
    public int RemoveDescendants(ulong root)
    {
        lock (_lock)
        {
            var doomed = new HashSet<ulong> { root };
            bool grew = true;
            while (grew)
            {
                grew = false;
                foreach (var kv in _byId)
                    if (!doomed.Contains(kv.Key) && doomed.Contains(kv.Value.Parent)) { doomed.Add(kv.Key); grew = true; }
            }
            doomed.Remove(root);
            foreach (var id in doomed) { var o = _byId[id]; _byId.Remove(id); _byHandle.Remove((o.Handle, o.Type)); }
            return doomed.Count;
        }
    }

    public List<(ulong Id, HostObject Obj)> Snapshot()
    {
        lock (_lock) return _byId.Select(kv => (kv.Key, kv.Value)).ToList();
    }
}
