using System.Runtime.CompilerServices;
using Venus.Protocol.Wire;

namespace Venus.Benchmarks;

/// <summary>
/// Host-side id → handle table as a renderer would keep it: open addressing with linear probing,
/// Fibonacci hashing of the guest id, entries stored inline (id, handle, object type) so a hit
/// touches one cache line. Id 0 (VK_NULL_HANDLE) marks an empty slot; the decoder never asks for it.
/// </summary>
public sealed class OpenAddressingHandleTable : IVnHandleTranslator
{
    struct Entry
    {
        public ulong Id;
        public ulong Handle;
        public int ObjectType;
    }

    readonly Entry[] _entries;
    readonly int _mask;
    readonly int _shift;
    int _count;

    /// <param name="capacity">slot count, rounded up to a power of two; keep the load under ~70%</param>
    public OpenAddressingHandleTable(int capacity)
    {
        int cap = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, 16));
        _entries = new Entry[cap];
        _mask = cap - 1;
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)cap);
    }

    public int Count => _count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    int Slot(ulong id) => (int)((id * 0x9E3779B97F4A7C15UL) >> _shift);

    public void Add(ulong id, int objectType, ulong handle)
    {
        if (id == 0) throw new ArgumentOutOfRangeException(nameof(id), "id 0 is VK_NULL_HANDLE");
        if ((_count + 1) * 10 > _entries.Length * 7) throw new InvalidOperationException("handle table over 70% full");
        int i = Slot(id);
        while (_entries[i].Id != 0 && _entries[i].Id != id) i = (i + 1) & _mask;
        if (_entries[i].Id == 0) _count++;
        _entries[i] = new Entry { Id = id, Handle = handle, ObjectType = objectType };
    }

    public bool TryTranslate(ulong id, int objectType, out ulong handle)
    {
        Entry[] entries = _entries;
        int i = Slot(id);
        while (true)
        {
            ref Entry e = ref entries[i];
            if (e.Id == id)
            {
                if (e.ObjectType == objectType) { handle = e.Handle; return true; }
                break;
            }
            if (e.Id == 0) break;
            i = (i + 1) & _mask;
        }
        handle = 0;
        return false;
    }
}

/// <summary>The same table on <see cref="Dictionary{TKey, TValue}"/>, for comparison.</summary>
public sealed class DictionaryHandleTable : IVnHandleTranslator
{
    readonly Dictionary<ulong, (ulong Handle, int ObjectType)> _map;

    public DictionaryHandleTable(int capacity) => _map = new Dictionary<ulong, (ulong, int)>(capacity);

    public void Add(ulong id, int objectType, ulong handle) => _map[id] = (handle, objectType);

    public bool TryTranslate(ulong id, int objectType, out ulong handle)
    {
        if (_map.TryGetValue(id, out var v) && v.ObjectType == objectType) { handle = v.Handle; return true; }
        handle = 0;
        return false;
    }
}
