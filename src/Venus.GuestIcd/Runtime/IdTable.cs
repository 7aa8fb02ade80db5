using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// Guest state of non-dispatchable objects by id (a buffer's memory requirements, an image's shape),
/// without a lock or an allocation on the create/destroy path: ids come from one instance-wide
/// counter, so the live ids of a kind spread over a direct-mapped table of <see cref="SlotCount"/>
/// slots (slot = id mod the count). A slot is claimed with a compare-and-swap of its id word, filled,
/// then published by writing the id; an id whose slot another live id holds goes to a
/// <see cref="ConcurrentDictionary{TKey,TValue}"/> instead (the slow path, counted so that lookups
/// skip it while it is empty). Readers of an id race only with that id's own destroy, which the
/// app may not overlap with a use of it (Vulkan's external synchronization), so the value they read
/// is whole. Where Mesa's venus keeps such state in the object its handle points to, this keeps it
/// in a table, because our non-dispatchable handles are plain ids. Values may be references (an
/// event's or query pool's guest object): a reference is read whole, and a removed one is cleared
/// from its slot so that the table does not keep it alive.
/// </summary>
internal sealed class IdTable<T>
{
    public const int SlotCount = 1024;
    private const ulong Claimed = ulong.MaxValue; // a slot being filled; never an id

    private struct Slot
    {
        public ulong Id; // 0: free
        public T Value;
    }

    private readonly Slot[] _slots = new Slot[SlotCount];
    private readonly ConcurrentDictionary<ulong, T> _overflow = new();
    private int _overflowCount;

    public IdTable()
    {
        // Write every page of the table once now (a device's creation), so that the first thousand
        // objects do not each take a page fault when they claim a fresh slot (issue 12).
        int perPage = Math.Max(1, 4096 / Unsafe.SizeOf<Slot>());
        for (int i = 0; i < _slots.Length; i += perPage)
            Volatile.Write(ref _slots[i].Id, 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Slot SlotOf(ulong id) =>
        // The array always has SlotCount slots: no bounds check on the status-query path.
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_slots), (nint)(id & (SlotCount - 1)));

    /// <summary>Sets the value of <paramref name="id"/> (non-zero), adding it if it is not there.</summary>
    public void Set(ulong id, in T value)
    {
        if (id == 0 || id == Claimed)
            throw new ArgumentOutOfRangeException(nameof(id), $"object id 0x{id:x} cannot be kept");
        ref Slot s = ref SlotOf(id);
        if (Volatile.Read(ref s.Id) == id)
        {
            s.Value = value;
            return;
        }
        if (Volatile.Read(ref _overflowCount) != 0 && _overflow.ContainsKey(id))
        {
            _overflow[id] = value;
            return;
        }
        if (Interlocked.CompareExchange(ref s.Id, Claimed, 0) == 0)
        {
            s.Value = value;
            Volatile.Write(ref s.Id, id);
            return;
        }
        if (_overflow.TryAdd(id, value))
            Interlocked.Increment(ref _overflowCount);
        else
            _overflow[id] = value;
    }

    /// <summary>
    /// The value of <paramref name="id"/>, or default where it is not kept: for reference values on
    /// status queries, inlined and without the write barrier an <c>out</c> of a reference costs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T? Find(ulong id)
    {
        ref Slot s = ref SlotOf(id);
        if (id != 0 && Volatile.Read(ref s.Id) == id)
            return s.Value;
        return Volatile.Read(ref _overflowCount) == 0 ? default : FindOverflow(id);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private T? FindOverflow(ulong id) => _overflow.TryGetValue(id, out T? value) ? value : default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetValue(ulong id, [MaybeNullWhen(false)] out T value)
    {
        ref Slot s = ref SlotOf(id);
        if (id != 0 && Volatile.Read(ref s.Id) == id)
        {
            value = s.Value;
            return true;
        }
        if (Volatile.Read(ref _overflowCount) != 0 && _overflow.TryGetValue(id, out value))
            return true;
        value = default;
        return false;
    }

    /// <summary>Forgets <paramref name="id"/>; true if it was there.</summary>
    public bool Remove(ulong id)
    {
        ref Slot s = ref SlotOf(id);
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            // Held as claimed while the reference is cleared, so that no new id fills the slot meanwhile.
            if (id != 0 && Interlocked.CompareExchange(ref s.Id, Claimed, id) == id)
            {
                s.Value = default!;
                Volatile.Write(ref s.Id, 0);
                return true;
            }
        }
        else if (id != 0 && Interlocked.CompareExchange(ref s.Id, 0, id) == id)
        {
            return true;
        }
        if (Volatile.Read(ref _overflowCount) != 0 && _overflow.TryRemove(id, out _))
        {
            Interlocked.Decrement(ref _overflowCount);
            return true;
        }
        return false;
    }

    /// <summary>How many ids are kept (walks the table: for tests and teardown, not hot paths).</summary>
    public int Count
    {
        get
        {
            int n = 0;
            for (int i = 0; i < _slots.Length; i++)
            {
                ulong id = Volatile.Read(ref _slots[i].Id);
                if (id != 0 && id != Claimed)
                    n++;
            }
            return n + _overflow.Count;
        }
    }
}
